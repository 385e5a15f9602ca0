"""What the Python test servers (tests/webhook/server.py, tests/zalo/mock.py) share: a handler
that behaves like a real API server's connection, and the start-up protocol the tests expect
(print READY once listening, run until stdin closes)."""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real API servers do (every reply sets Content-Length), without Nagle
    # delaying the body written after the headers.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


def serve(port, handler):
    # A listen backlog of 5 (the default) drops SYNs when 8 clients connect at once.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    print("READY", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()
