"""A real SMTP server for the tests: aiosmtpd (not ours), with a handler that stores every
message it accepts and can misbehave on request.

    python3 tests/smtp/server.py --port 2525 --out DIR [--tempfail N] [--reject ADDR]

--tempfail N   answer the first N DATA commands with 451 (a transient failure)
--reject ADDR  refuse RCPT TO:<ADDR> with 550 (a permanent failure for that recipient)
--reject-helo  refuse every EHLO with 504 (as Postfix's reject_non_fqdn_helo_hostname does)
--slow SECONDS wait this long before answering each DATA (a slow server: a pass lasts)
--password PW  require AUTH (user "nv", password PW); each failed AUTH is counted in
               DIR/auth-failures, one line each

Each accepted message is written to DIR as <n>.eml (the bytes as received) with <n>.rcpt
listing its envelope recipients. Prints READY when it listens.
"""
import argparse
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out, tempfail, reject, stall=False, reject_helo=False, slow=0.0):
        self.stall = stall
        self.slow = slow
        self.reject_helo = reject_helo
        self.out = out
        self.tempfail = tempfail
        self.reject = {a.lower() for a in reject}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.reject_helo:
            with open(os.path.join(self.out, "helo-rejections"), "a") as f:
                f.write(hostname + "\n")
            return ["504 5.5.2 <" + hostname + ">: Helo command rejected"]
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            import asyncio
            await asyncio.sleep(3600)
        if self.slow:
            import asyncio
            await asyncio.sleep(self.slow)
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                return "451 4.3.0 Try again later"
            self.count += 1
            n = self.count
        # Unique across restarts of the server on the same directory (the outage tests).
        path = os.path.join(self.out, f"{os.getpid()}-{n:06}")
        with open(path + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(path + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        # What the client said: its EHLO name and the envelope sender.
        with open(path + ".session", "w") as f:
            f.write(f"{session.host_name}\n{envelope.mail_from}")
        os.rename(path + ".eml.tmp", path + ".eml")
        return "250 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tempfail", type=int, default=0)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--stall", action="store_true", help="never answer DATA")
    p.add_argument("--reject-helo", action="store_true")
    p.add_argument("--password")
    p.add_argument("--slow", type=float, default=0.0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    extra = {}
    if a.password is not None:
        from aiosmtpd.smtp import AuthResult

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == b"nv" and auth_data.password == a.password.encode()
            if not ok:
                with open(os.path.join(a.out, "auth-failures"), "a") as f:
                    f.write(mechanism + "\n")
            # handled=False: aiosmtpd answers 535 itself (True would leave the client waiting).
            return AuthResult(success=ok, handled=False)

        extra = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    handler = Handler(a.out, a.tempfail, a.reject, a.stall, a.reject_helo, a.slow)
    controller = Controller(handler, hostname="127.0.0.1", port=a.port, **extra)
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Exit when the test that started us goes away (stdin closes) or asks us to stop.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
