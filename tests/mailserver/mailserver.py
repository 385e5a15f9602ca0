#!/usr/bin/env python3
"""A private, throwaway Postfix + Dovecot mail server on loopback, for integration tests.

Configured like a provincial government mail server: a submission port (STARTTLS required,
then SASL AUTH) and an smtps port (implicit TLS), both answered by Postfix, with Dovecot as
Postfix's SASL backend; certificates from a private CA made here. Everything lives under
--dir: Postfix's config directory, queue and data directories, Dovecot's base and state
directories, the logs, the Maildir. /etc/postfix and /etc/dovecot are never read or written
(Postfix reads only its read-only metadata, /etc/postfix/postfix-files). Several instances
run side by side on different ports and directories.

Every recipient is accepted (any domain) and delivered by Postfix's virtual(8) to one
catch-all Maildir, DIR/maildir/catchall/, one file per recipient (its Delivered-To header
names the recipient); --reject lists addresses answered "550 5.1.1 ... User unknown in
virtual mailbox table" at RCPT.

Failed logins are counted from Postfix's log ("SASL <MECH> authentication failed"), the line
fail2ban's postfix-sasl filter bans on: one per failed AUTH command, whatever the reason.

Commands:
  start --dir DIR --submission PORT --smtps PORT [options]   prints one JSON line, exits 0
  stop --dir DIR
  auth-failures --dir DIR

Must run as root (Postfix's master and Dovecot drop privileges themselves).
"""

import argparse
import hashlib
import json
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

READY_TIMEOUT = 20.0
DOMAIN_OWNED = "example.org"


def run(args, **kw):
    """Runs a command; on failure raises with its output (shown by main)."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}")
    return p.stdout


def launch(args, log):
    """Runs a command that leaves a daemon behind. The daemon must not inherit our pipes (the
    caller reads our stdout to its end), nor our session (a ^C to the tests is not for it)."""
    with open(log, "a") as out:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                           start_new_session=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n{tail(log)}")


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Paths:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.pconf = os.path.join(self.root, "postfix-conf")
        self.queue = os.path.join(self.root, "postfix-queue")
        self.data = os.path.join(self.root, "postfix-data")
        self.dovecot = os.path.join(self.root, "dovecot")
        self.dconf = os.path.join(self.dovecot, "dovecot.conf")
        # Short: Dovecot's sockets live here and a unix socket path is at most 107 bytes.
        self.drun = os.path.join(self.root, "dr")
        self.tls = os.path.join(self.root, "tls")
        self.maildir = os.path.join(self.root, "maildir")
        self.postfix_log = os.path.join(self.root, "postfix.log")
        self.dovecot_log = os.path.join(self.root, "dovecot.log")
        self.state = os.path.join(self.root, "state.json")


# --- certificates ---------------------------------------------------------------------------

OPENSSL_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = testca
[ testca ]
dir = {tls}/ca-db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ any ]
commonName = supplied
organizationName = optional
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_selfsigned ]
# What `openssl req -x509` gives by default (Debian's openssl.cnf v3_ca), plus the name.
basicConstraints = critical, CA:TRUE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer
subjectAltName = DNS:localhost, IP:127.0.0.1
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::LEAF_SAN
"""


def make_certs(p, kind):
    """Writes tls/server.key, tls/server.pem (the leaf) and tls/ca.pem (what clients trust).

    EC P-256 keys: generated in milliseconds, where RSA 2048 takes up to a second."""
    os.makedirs(p.tls, exist_ok=True)
    cnf = os.path.join(p.tls, "openssl.cnf")
    write(cnf, OPENSSL_CNF.format(tls=p.tls))
    key = os.path.join(p.tls, "server.key")
    leaf = os.path.join(p.tls, "server.pem")
    ca = os.path.join(p.tls, "ca.pem")
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run(["openssl", "genpkey", *ec, "-out", key])
    # The config names $ENV::LEAF_SAN, so every openssl command needs it set.
    env = dict(os.environ, LEAF_SAN="DNS:localhost, IP:127.0.0.1")
    if kind == "selfsigned":
        run(["openssl", "req", "-config", cnf, "-x509", "-new", "-key", key, "-days", "825",
             "-subj", "/CN=localhost", "-extensions", "v3_selfsigned", "-out", leaf], env=env)
        shutil.copyfile(leaf, ca)
        return
    ca_key = os.path.join(p.tls, "ca.key")
    run(["openssl", "genpkey", *ec, "-out", ca_key])
    run(["openssl", "req", "-config", cnf, "-x509", "-new", "-key", ca_key, "-days", "3650",
         "-subj", "/O=nhacviec tests/CN=nhacviec test CA", "-extensions", "v3_ca", "-out", ca],
        env=env)
    db = os.path.join(p.tls, "ca-db")
    os.makedirs(os.path.join(db, "new"), exist_ok=True)
    write(os.path.join(db, "index.txt"), "")
    write(os.path.join(db, "serial"), "1000\n")
    cn = "localhost"
    if kind == "wrongname":
        cn = "mail.wrong.test"
        env["LEAF_SAN"] = "DNS:mail.wrong.test"
    csr = os.path.join(p.tls, "server.csr")
    run(["openssl", "req", "-config", cnf, "-new", "-key", key, "-subj", f"/CN={cn}",
         "-out", csr], env=env)
    # `openssl ca` rather than `x509 -req`: OpenSSL 3.0 has no -not_after, and an expired
    # certificate needs explicit dates in the past.
    if kind == "expired":
        dates = ["-startdate", "20230101000000Z", "-enddate", "20240101000000Z"]
    else:
        dates = ["-days", "825"]
    run(["openssl", "ca", "-batch", "-notext", "-config", cnf, "-cert", ca, "-keyfile", ca_key,
         "-extensions", "leaf", *dates, "-in", csr, "-out", leaf], env=env)


def leaf_sha256(p):
    with open(os.path.join(p.tls, "server.pem")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


# --- Postfix --------------------------------------------------------------------------------

def ere_escape(s):
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\/" else c for c in s)


def make_queue(p):
    """The queue and data directories, as `postfix start`'s post-install would make them
    (/etc/postfix/postfix-files); its shell checks take 2 s, so quick-start skips them."""
    postfix = pwd.getpwnam("postfix")
    postdrop = grp.getgrnam("postdrop").gr_gid
    dirs = [(p.queue, 0, 0, 0o755), (os.path.join(p.queue, "pid"), 0, 0, 0o755),
            (os.path.join(p.queue, "maildrop"), postfix.pw_uid, postdrop, 0o730),
            (os.path.join(p.queue, "public"), postfix.pw_uid, postdrop, 0o710),
            (p.data, postfix.pw_uid, 0, 0o700)]
    for name in ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                 "incoming", "private", "saved", "trace"]:
        dirs.append((os.path.join(p.queue, name), postfix.pw_uid, 0, 0o700))
    for path, uid, gid, mode in dirs:
        os.makedirs(path, exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    # Consumed (removed) by each `postfix start`.
    write(os.path.join(p.queue, "quick-start"), "")


def postfix_config(p, a, nobody):
    main = f"""\
# Private test instance (tests/mailserver/mailserver.py); nothing here is the system's.
compatibility_level = 3.6
config_directory = {p.pconf}
queue_directory = {p.queue}
data_directory = {p.data}
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{DOMAIN_OWNED}
mydomain = {DOMAIN_OWNED}
myorigin = $mydomain
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled
biff = no
# No syslog here: postlogd (master.cf) writes every daemon's log to this file.
maillog_file = {p.postfix_log}
maillog_file_prefixes = {p.root}
# Every domain is a virtual mailbox domain; every address but the rejected ones has a mailbox.
virtual_mailbox_domains = static:all
virtual_mailbox_maps = regexp:{p.pconf}/mailboxes.regexp
virtual_mailbox_base = {p.maildir}
virtual_uid_maps = static:{nobody[0]}
virtual_gid_maps = static:{nobody[1]}
virtual_transport = virtual
smtpd_sender_login_maps = texthash:{p.pconf}/sender_logins
smtpd_tls_chain_files = {p.tls}/server.key, {p.tls}/server.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {p.drun}/auth-postfix
smtpd_sasl_authenticated_header = no
# Fast for tests: no penalty sleeps, no per-client limits, quick queue runs.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 100
smtpd_junk_command_limit = 1000
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
smtpd_client_auth_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
"""
    helo = "reject_non_fqdn_helo_hostname," if a.reject_non_fqdn_helo else ""
    sender = "reject_sender_login_mismatch" if a.sender_login_mismatch else ""
    common = [
        "-o syslog_name=postfix/{name}",
        "-o smtpd_tls_security_level=encrypt",
        "-o smtpd_tls_auth_only=yes",
        "-o smtpd_sasl_auth_enable=yes",
        "-o smtpd_helo_required=yes",
        f"-o smtpd_sender_restrictions={sender}",
        "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject",
        f"-o smtpd_recipient_restrictions={helo}permit_sasl_authenticated,reject",
    ]
    if a.slow:
        # Each message takes this long at DATA: a test can stop the server mid-pass.
        common.append(f"-o smtpd_data_restrictions=sleep,{a.slow}")

    def smtpd(port, name, extra=()):
        opts = "\n  ".join(o.format(name=name) for o in [*common, *extra])
        return f"127.0.0.1:{port} inet n - n - - smtpd\n  {opts}\n"

    # chroot = n everywhere: the paths above are absolute, outside any queue directory jail.
    master = (
        smtpd(a.submission, "submission")
        + smtpd(a.smtps, "smtps", ["-o smtpd_tls_wrappermode=yes"])
        + """\
pickup     unix n - n 60 1 pickup
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
tlsmgr     unix - - n 1000? 1 tlsmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp       unix - - n - - smtp
relay      unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
virtual    unix - n n - - virtual
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
"""
    )
    os.makedirs(p.pconf, exist_ok=True)
    write(os.path.join(p.pconf, "main.cf"), main)
    write(os.path.join(p.pconf, "master.cf"), master)
    # Regexp tables are looked up with the whole address only (no @domain fallback), and the
    # first match wins: a negated pattern gives every other address the catch-all mailbox.
    rejected = [r for r in a.reject.split(",") if r.strip()] if a.reject else []
    if rejected:
        pattern = "|".join(ere_escape(r.strip()) for r in rejected)
        table = f"!/^({pattern})$/ catchall/\n"
    else:
        table = "/^/ catchall/\n"
    write(os.path.join(p.pconf, "mailboxes.regexp"), table)
    write(os.path.join(p.pconf, "sender_logins"), f"nhacviec@{DOMAIN_OWNED} {a.user}\n")


# --- Dovecot --------------------------------------------------------------------------------

def dovecot_config(p, a):
    os.makedirs(p.dovecot, exist_ok=True)
    users = os.path.join(p.dovecot, "users")
    # Readable by the auth process (user dovecot); a throwaway test password.
    write(users, f"{a.user}:{{PLAIN}}{a.password}\n")
    conf = f"""\
# Private test instance (tests/mailserver/mailserver.py): SASL for Postfix, nothing else.
protocols = none
base_dir = {p.drun}
state_dir = {p.dovecot}/state
instance_name = nhacviec-test-{os.path.basename(p.root)}
log_path = {p.dovecot_log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
    write(p.dconf, conf)


# --- processes ------------------------------------------------------------------------------

def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def smtp_banner(port, wrap):
    """The first reply line on the port (over TLS when wrap), or None if not (yet) there."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None
    try:
        if wrap:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname="localhost")
        line = s.makefile("rb").readline().decode("utf-8", "replace")
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        return line
    except (OSError, ssl.SSLError):
        return None
    finally:
        s.close()


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)\n"


def postfix_pid(p):
    return read_pid(os.path.join(p.queue, "pid", "master.pid"))


def dovecot_pid(p):
    return read_pid(os.path.join(p.drun, "master.pid"))


def mark(what, t0=time.monotonic()):
    if os.environ.get("MAILSERVER_TIMING"):
        sys.stderr.write(f"{time.monotonic() - t0:.3f}s {what}\n")


def start(a):
    if os.geteuid() != 0:
        sys.exit("mailserver.py: must run as root (Postfix and Dovecot start as root)")
    p = Paths(a.dir)
    os.makedirs(p.root, exist_ok=True)
    # A tempdir is 0700; Postfix and Dovecot drop to their own users and must get through.
    os.chmod(p.root, 0o755)
    nobody = (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    os.makedirs(p.maildir, exist_ok=True)
    os.chown(p.maildir, *nobody)
    make_queue(p)
    # Restarts (start after stop) keep the certificates, so clients still trust them.
    if not os.path.exists(os.path.join(p.tls, "server.pem")):
        make_certs(p, a.cert)
    postfix_config(p, a, nobody)
    dovecot_config(p, a)

    mark("configured")
    launch(["dovecot", "-c", p.dconf], os.path.join(p.root, "start.log"))
    mark("dovecot started")
    launch(["postfix", "-c", p.pconf, "start"], os.path.join(p.root, "start.log"))
    mark("postfix started")

    deadline = time.monotonic() + READY_TIMEOUT
    sub = smtps = None
    while time.monotonic() < deadline:
        if sub is None or not sub.startswith("220"):
            sub = smtp_banner(a.submission, False)
        if smtps is None or not smtps.startswith("220"):
            smtps = smtp_banner(a.smtps, True)
        if sub and sub.startswith("220") and smtps and smtps.startswith("220") \
                and os.path.exists(os.path.join(p.drun, "auth-postfix")):
            break
        time.sleep(0.02)
    else:
        raise RuntimeError(f"not ready after {READY_TIMEOUT}s: submission {sub!r}, "
                           f"smtps {smtps!r}")
    mark("ready")
    info = {
        "ca": os.path.join(p.tls, "ca.pem"),
        "cert_sha256": leaf_sha256(p),
        "submission": a.submission,
        "smtps": a.smtps,
        "maildir": os.path.join(p.maildir, "catchall"),
        "dovecot_log": p.dovecot_log,
        "postfix_log": p.postfix_log,
    }
    write(p.state, json.dumps(info))
    print(json.dumps(info), flush=True)


def stop(a):
    p = Paths(a.dir)
    try:
        with open(p.state) as f:
            info = json.load(f)
    except OSError:
        info = {}
    pids = [pid for pid in (postfix_pid(p), dovecot_pid(p)) if alive(pid)]
    # SIGTERM to each master (what `postfix stop` and `doveadm stop` send, without their
    # checks): each takes its children down and removes its sockets.
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    ports = [info[k] for k in ("submission", "smtps") if k in info]
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids) and not any(port_open(x) for x in ports):
            return
        time.sleep(0.02)
    raise RuntimeError(f"still running after 10 s: pids {pids}, ports {ports}")


FAILED_AUTH = re.compile(r"SASL [A-Z0-9-]+ authentication failed")


def count_failures(p):
    try:
        with open(p.postfix_log, errors="replace") as f:
            return sum(1 for line in f if FAILED_AUTH.search(line))
    except OSError:
        return 0


def auth_failures(a):
    p = Paths(a.dir)
    # smtpd hands its log line to postlogd before it answers 535; postlogd writes it a moment
    # later. Wait until the count has held for 150 ms.
    n = count_failures(p)
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < 0.15:
        time.sleep(0.03)
        m = count_failures(p)
        if m != n:
            n, stable_since = m, time.monotonic()
    print(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--submission", type=int, required=True)
    s.add_argument("--smtps", type=int, required=True)
    s.add_argument("--user", default="nhacviec")
    s.add_argument("--password", default="mat-khau-dung")
    s.add_argument("--cert", choices=["ca", "selfsigned", "expired", "wrongname"], default="ca")
    s.add_argument("--reject-non-fqdn-helo", action="store_true")
    s.add_argument("--slow", type=int, default=0,
                   help="seconds each message waits at DATA (to stop the server mid-pass)")
    s.add_argument("--sender-login-mismatch", action="store_true",
                   help=f"the login owns only nhacviec@{DOMAIN_OWNED}")
    s.add_argument("--reject", default="",
                   help="comma-separated addresses answered 550 5.1.1 User unknown")
    for name in ("stop", "auth-failures"):
        sub.add_parser(name).add_argument("--dir", required=True)
    a = ap.parse_args()
    try:
        {"start": start, "stop": stop, "auth-failures": auth_failures}[a.cmd](a)
    except Exception as e:  # noqa: BLE001 - the harness wants the logs, whatever failed
        p = Paths(a.dir)
        sys.stderr.write(f"mailserver.py {a.cmd}: {e}\n")
        for log in (p.postfix_log, p.dovecot_log):
            sys.stderr.write(f"--- {log}\n{tail(log)}")
        if a.cmd == "start":
            try:
                stop(a)
            except Exception:  # noqa: BLE001
                pass
        sys.exit(1)


if __name__ == "__main__":
    main()
