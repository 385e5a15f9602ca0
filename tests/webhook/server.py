"""A webhook receiver for the tests: records each POST (headers, body, whether the HMAC
signature verifies) and can misbehave.

    python3 tests/webhook/server.py --port P --out FILE --secret S [--fail500 N] [--fail429 N] [--fail400]

Each request is appended to FILE as one JSON line. Prints READY when listening.
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--fail500", type=int, default=0)
    p.add_argument("--fail429", type=int, default=0)
    p.add_argument("--fail400", action="store_true")
    a = p.parse_args()
    state = {"fail500": a.fail500, "fail429": a.fail429}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real API servers do (every reply sets Content-Length), without Nagle
        # delaying the body written after the headers.
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(a.secret.encode(), body, hashlib.sha256).hexdigest()
            with lock:
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "signature_ok": hmac.compare_digest(expected, self.headers.get("X-Nhacviec-Signature", "")),
                }
                if a.fail400:
                    code, extra = 400, {}
                elif state["fail500"] > 0:
                    state["fail500"] -= 1
                    code, extra = 500, {}
                elif state["fail429"] > 0:
                    state["fail429"] -= 1
                    code, extra = 429, {"Retry-After": "120"}
                else:
                    code, extra = 200, {}
                record["answered"] = code
                with open(a.out, "a") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.send_response(code)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    # A listen backlog of 5 (the default) drops SYNs when 8 clients connect at once.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("READY", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
