"""A local mock of Zalo's three hosts (OA, ZNS, OAuth) on one port, behaving as
shared/reference/zalo-api.md says: HTTP 200 with the error in the body, a bare
`access_token` header, `secret_key` on OAuth, single-use refresh tokens, quota objects.

    python3 tests/zalo/mock.py --port P --secret S --access AT0 --refresh RT0
        [--expire-after N] [--fail-phone 84xxx:-118] [--daily-quota N] [--empty-oauth] [--oa-230]

GET /_state returns what it saw. Prints READY when listening.
"""
import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import httpserve  # noqa: E402
from urllib.parse import parse_qs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--access", required=True)
    p.add_argument("--refresh", required=True)
    p.add_argument("--expire-after", type=int, default=-1)
    p.add_argument("--fail-phone", action="append", default=[])
    p.add_argument("--daily-quota", type=int, default=100_000, help="ZNS messages accepted today; then -144")
    p.add_argument("--empty-oauth", action="store_true")
    p.add_argument("--oa-230", action="store_true")
    p.add_argument("--http500", type=int, default=0, help="answer the first N sends with HTTP 500")
    p.add_argument("--rate-limited", type=int, default=0, help="answer the first N sends with -32")
    a = p.parse_args()
    fail_phone = {k: int(v) for k, v in (f.split(":") for f in a.fail_phone)}
    lock = threading.Lock()
    st = {"http500": a.http500, "rate": a.rate_limited, "access": a.access, "refresh": {a.refresh}, "n": 0, "oauth_calls": 0, "ok": 0, "zns": 0, "zns_requests": 0, "received": [], "used": []}

    class H(httpserve.Handler):
        def reply(self, obj, raw=None):
            body = raw if raw is not None else json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            with lock:
                self.reply({k: (sorted(v) if isinstance(v, set) else v) for k, v in st.items()})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                if self.path == "/v4/oa/access_token":
                    st["oauth_calls"] += 1
                    if self.headers.get("secret_key") != a.secret:
                        return self.reply({"error": -14002, "error_name": "Invalid secret key"})
                    if a.empty_oauth:
                        return self.reply(None, raw=b"")
                    form = parse_qs(raw.decode())
                    rt = form.get("refresh_token", [""])[0]
                    if rt not in st["refresh"]:
                        st["used"].append(rt)
                        return self.reply({"error": -14014, "error_name": "Invalid refresh token"})
                    st["refresh"].discard(rt)  # single use
                    st["n"] += 1
                    st["access"] = f"AT{st['n']}"
                    new_rt = f"RT{st['n']}"
                    st["refresh"].add(new_rt)
                    return self.reply({"access_token": st["access"], "refresh_token": new_rt, "expires_in": "90000"})
                body = json.loads(raw or b"{}")
                token = self.headers.get("access_token")
                zns = self.path == "/message/template"
                if self.path not in ("/message/template", "/v3.0/oa/message/cs"):
                    return self.reply({"error": -201, "message": "unknown endpoint"})
                if a.expire_after >= 0 and st["ok"] >= a.expire_after and st["access"] == a.access:
                    # The first token expires mid-run, once: a late request still carrying it
                    # must not revoke the token issued by the refresh that replaced it.
                    st["access"] = None
                if st["http500"] > 0:
                    st["http500"] -= 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if st["rate"] > 0:
                    st["rate"] -= 1
                    return self.reply({"error": -32, "message": "Rate limit"})
                if token is None or token != st["access"]:
                    return self.reply({"error": -124 if zns else -216, "message": "Access token is invalid"})
                if zns:
                    st["zns_requests"] += 1
                    if st["zns"] >= a.daily_quota:
                        return self.reply({"error": -144, "message": "OA daily limit reached"})
                    code = fail_phone.get(body.get("phone"))
                    if code:
                        return self.reply({"error": code, "message": "failed"})
                elif a.oa_230:
                    return self.reply({"error": -230, "message": "User has not interacted with the OA in 7 days"})
                st["ok"] += 1
                st["zns"] += zns
                st["received"].append({"path": self.path, "body": body})
                if zns:
                    return self.reply({"error": 0, "message": "Success", "data": {"msg_id": f"m{st['ok']}", "sent_time": "1626926349402", "quota": {"dailyQuota": str(a.daily_quota), "remainingQuota": str(a.daily_quota - st["zns"])}}})
                return self.reply({"error": 0, "message": "Success", "data": {"message_id": f"o{st['ok']}", "user_id": body["recipient"]["user_id"], "sent_time": "1626926349402", "quota": {"quota_type": "reply", "remain": "8", "total": "8"}}})

    httpserve.serve(a.port, H)


if __name__ == "__main__":
    main()
