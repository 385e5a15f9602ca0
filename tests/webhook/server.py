"""A webhook receiver for the tests: records each POST (headers, body, whether the HMAC
signature verifies) and can misbehave.

    python3 tests/webhook/server.py --port P --out FILE --secret S [--fail500 N] [--fail429 N] [--fail400]

Each request is appended to FILE as one JSON line. Prints READY when listening.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import httpserve  # noqa: E402


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

    class Handler(httpserve.Handler):
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

    httpserve.serve(a.port, Handler)


if __name__ == "__main__":
    main()
