#!/usr/bin/env python3
"""Fault scripts: each ends with a count of delivered, duplicated and lost digests.

    scripts/faults.py kill9 [--digests 10000] [--kills 20]
        kill -9 the daemon at random moments while it delivers, restarting it each time.
    scripts/faults.py sink-down [--digests 2000]
        the SMTP server is down for a while mid-run, then back.
    scripts/faults.py disk-full [--digests 2000]
        the state directory on a small tmpfs that fills up while the service runs, then is
        freed: clear errors, no resend storm, nothing lost once there is room (needs root).
    scripts/faults.py responsive [--digests 10000]
        a catch-up tick of N digests (SMTP to the test server): /healthz must answer within 1 s
        throughout, and SIGTERM mid-tick must stop the service within 2 s, the rest queued.
    scripts/faults.py answers [--answers 100000]
        N answers stored (60% by one agency, the rest spread; progress notes of 200 characters,
        undone and superseded ones among them): the agency's page and the dashboard, 50
        requests each (median and p95), 8 in parallel, the service's RSS and the database's size.
    scripts/faults.py config-edits [--edits 100]
        random valid and invalid edits of the plan file while the service runs: it must never
        stop, always run the last valid config, and report every invalid one with its line.
    scripts/faults.py junk-flood [--seconds 20] [--clients 8]
        `nhacviec web` flooded with GETs of junk links (/a/{junk}) from kept-alive connections:
        prints the requests a second and the log lines they made (target: under 100), then
        SIGTERM: the exit's time (target: under 2.5 s).
    scripts/faults.py connections [--connections 2000]
        N connections to `nhacviec web` at once, half of them sending half a request line:
        real requests meanwhile must be answered, and the header-read timeout must cut the
        rest within seconds.

Uses the test SMTP server (tests/smtp/server.py, aiosmtpd) on loopback and a release build.
"""
import argparse
import email
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from harness import BIN, ROOT, free_port


def start_sink(port, out):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/smtp/server.py"), "--port", str(port), "--out", out], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"READY"
    return p


def received(out):
    ids = {}
    for name in os.listdir(out):
        if name.endswith(".eml"):
            with open(os.path.join(out, name), "rb") as f:
                mid = email.message_from_binary_file(f)["Message-ID"]
            ids[mid] = ids.get(mid, 0) + 1
    return ids


def run_once(cfg):
    env = dict(os.environ, NHACVIEC_LOG="error")
    env.pop("NHACVIEC_STATE_DIR", None)
    return subprocess.Popen([BIN, "--config", cfg, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(n, ids, kills=None):
    delivered = len(ids)
    duplicated = sum(c - 1 for c in ids.values())
    lost = n - delivered
    extra = f", {kills} kills" if kills is not None else ""
    print(f"delivered {delivered}, duplicated {duplicated}, lost {lost}{extra}")
    return lost


def disk_full(tmp, n):
    port = free_port()
    out = os.path.join(tmp, "inbox")
    cfg = os.path.join(tmp, "cfg")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), str(port)], check=True)
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", state], check=True)
    sink = None
    try:
        # A first run creates the database; then the disk is filled to the last byte, so the
        # next tick's outbox cannot be written.
        env0 = dict(os.environ, NHACVIEC_STATE_DIR=state, NHACVIEC_LOG="error")
        subprocess.run([BIN, "--config", cfg, "run", "--once", "--now", "2021-01-01T08:00:00+07:00"], env=env0, capture_output=True)
        filler = os.path.join(state, "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        sink = start_sink(port, out)
        env = dict(os.environ, NHACVIEC_STATE_DIR=state, NHACVIEC_LOG="warn", NO_COLOR="1")
        first = subprocess.run([BIN, "--config", cfg, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env=env, capture_output=True, text=True)
        full_error = first.returncode != 0 and "đầy" in first.stderr
        sent_while_full = len(received(out))
        os.remove(filler)  # space returns
        ok = subprocess.run([BIN, "--config", cfg, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env=env, capture_output=True, text=True)
        integrity = subprocess.run([sys.executable, "-c", f"import sqlite3; print(sqlite3.connect('{state}/nhacviec.db').execute('pragma integrity_check').fetchone()[0])"], capture_output=True, text=True).stdout.strip()
        time.sleep(0.5)
        ids = received(out)
        print(f"disk full: exit {first.returncode}, clear error: {full_error} ({first.stderr.strip().splitlines()[-1][:120] if first.stderr.strip() else ''}); sent while full: {sent_while_full}")
        print(f"after space returns: exit {ok.returncode}; database integrity: {integrity}")
        lost = report(n, ids)
        return 0 if full_error and ok.returncode == 0 and integrity == "ok" and lost == 0 else 1
    finally:
        if sink:
            sink.kill()
        subprocess.run(["umount", state], check=False)


def healthz(port, timeout=5.0):
    """(status code or None, seconds taken) of one GET /healthz."""
    import urllib.error
    import urllib.request
    t = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError:
        code = None
    return code, time.monotonic() - t


def responsive(tmp, n):
    import sqlite3
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "inbox")
    cfg = os.path.join(tmp, "cfg")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), str(port)], check=True)
    # The task due today (Vietnam's date), sent at once at any hour, with a tick every second
    # after (back-to-back ticks must not starve SIGTERM).
    import datetime
    today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date()
    plan = os.path.join(cfg, "plans", "p.toml")
    with open(plan, encoding="utf-8") as f:
        text = f.read().replace("due = 2022-06-01", f"due = {today}").replace("issued = 2022-01-01", f"issued = {today - datetime.timedelta(days=60)}")
    with open(plan, "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(cfg, "nhacviec.toml"), "a", encoding="utf-8") as f:
        f.write(f'\n[schedule]\nreminders = "* * * * * *"\ncatch_up_days = 30\nsend_hours = "always"\n\n[http]\nlisten = "127.0.0.1:{http}"\n')
    state = os.path.join(cfg, "state")
    sink = start_sink(port, out)
    env = dict(os.environ, NHACVIEC_LOG="info", NO_COLOR="1")
    env.pop("NHACVIEC_STATE_DIR", None)
    log_path = os.path.join(tmp, "log")
    log = open(log_path, "w")
    started = time.monotonic()
    p = subprocess.Popen([BIN, "--config", cfg, "run"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        while healthz(http, 0.2)[0] is None:
            if p.poll() is not None or time.monotonic() - started > 60:
                log.flush()
                print("the service did not start listening:", open(log_path, encoding="utf-8").read()[-800:])
                return 1
            time.sleep(0.05)
        # Probe until a fifth of the digests are out (the tick is evaluated, recorded and
        # sending), then stop it mid-send.
        count = lambda: sum(f.endswith(".eml") for f in os.listdir(out)) if os.path.isdir(out) else 0
        probes = []
        while count() < n // 5 and time.monotonic() - started < 600:
            code, took = healthz(http)
            probes.append(took)
            time.sleep(0.1)
        sent_at_term = count()
        t = time.monotonic()
        p.terminate()
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            code = p.wait()
        stop = time.monotonic() - t
        db = sqlite3.connect(os.path.join(state, "nhacviec.db"))
        waiting = db.execute("select count(*) from deliveries where status in ('pending', 'retrying')").fetchone()[0]
        sent = db.execute("select count(*) from deliveries where status = 'sent'").fetchone()[0]
        db.close()
        worst = max(probes) if probes else float("nan")
        print(f"{n} digests; /healthz probes during the tick: {len(probes)}, slowest {worst * 1000:.0f} ms, "
              f"median {sorted(probes)[len(probes) // 2] * 1000 if probes else float('nan'):.0f} ms")
        print(f"SIGTERM after {sent_at_term} delivered: exit {code} in {stop * 1000:.0f} ms; "
              f"queued for the next start: {waiting}, marked sent: {sent}")
        ok = probes and worst < 1.0 and stop < 2.0 and code == 0 and waiting + sent == n
        return 0 if ok else 1
    finally:
        if p.poll() is None:
            p.kill()
        sink.kill()
        log.close()


def link(secret, agency, issued):
    """A signed link's token, as links::Signer::sign makes it (version 1, key id, issue time,
    agency, 128-bit HMAC-SHA256): fresh tokens, so the per-link rate limit is not what is measured."""
    import base64
    import hashlib
    import hmac
    key = secret.encode()
    kid = hashlib.sha256(b"nhacviec link key id\0" + key).digest()[:4]
    body = b"\x01" + kid + int(issued).to_bytes(8, "big", signed=True) + agency.encode()
    tag = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def answers_case(tmp, n):
    import concurrent.futures
    import sqlite3
    import urllib.error
    import urllib.request
    port = free_port()
    cfg = os.path.join(tmp, "cfg")
    shutil.copytree(os.path.join(ROOT, "config"), cfg)
    with open(os.path.join(cfg, "nhacviec.toml"), "a", encoding="utf-8") as f:
        f.write(f'\n[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n')
    state = os.path.join(tmp, "state")
    secret = "faults-answers-" + os.urandom(16).hex()
    env = dict(os.environ, NHACVIEC_STATE_DIR=state, NHACVIEC_LINK_SECRET=secret, NHACVIEC_LOG="warn", NO_COLOR="1")
    # The database, migrated: `web` opens it; then the answers go in straight (one
    # transaction: the store's triggers keep each occurrence's latest as they would).
    p = subprocess.Popen([BIN, "--config", cfg, "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    def get(path, timeout=30):
        t = time.monotonic()
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            r.read()
            return r.status, time.monotonic() - t
    try:
        started = time.monotonic()
        while True:
            try:
                get("/a/x", 1)
            except urllib.error.HTTPError:
                break
            except OSError:
                if p.poll() is not None or time.monotonic() - started > 30:
                    print("the pages did not start")
                    return 1
                time.sleep(0.1)
    finally:
        p.terminate()
        p.wait(timeout=30)
    db_path = os.path.join(state, "nhacviec.db")
    db = sqlite3.connect(db_path)
    agencies = [r for r in open(os.path.join(cfg, "agencies.toml"), encoding="utf-8").read().split("[[agency]]")[1:]]
    ids = [a.split('id = "', 1)[1].split('"', 1)[0] for a in agencies]
    tasks = [t.split('id = "', 1)[1].split('"', 1)[0] for t in open(os.path.join(cfg, "plans", "50-KH-UBND-2022.toml"), encoding="utf-8").read().split("[[task]]")[1:]]
    now = int(time.time())
    rows = []
    for i in range(n):
        agency = "so-noi-vu" if i % 10 < 6 else ids[i % len(ids)]
        task = tasks[i % len(tasks)]
        action = "extension" if i % 50 == 0 else "progress"
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - (n - i) * 2))
        undone = at if i % 20 == 1 else None
        rows.append((agency, "50/KH-UBND", task, "2022-12-31", action, "tiến độ " + "x" * 190, 30, "2023-01-31" if action == "extension" else None, at, "k", f"seed-{i}", undone))
    t = time.monotonic()
    with db:
        db.executemany("INSERT INTO responses (agency, plan, task, deadline, action, note, percent, proposed, created_at, key_id, nonce, undone_at, exact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", rows)
    seeded = time.monotonic() - t
    db.close()
    size = os.path.getsize(db_path) + (os.path.getsize(db_path + "-wal") if os.path.exists(db_path + "-wal") else 0)
    p = subprocess.Popen([BIN, "--config", cfg, "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        while True:
            try:
                get("/a/x", 1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        counter = iter(range(10**9))
        page = lambda: f"/a/{link(secret, 'so-noi-vu', now - next(counter))}"
        dashboard = lambda: f"/theo-doi/{link(secret, '@theo-doi', now - next(counter))}"
        def measure(path_of, k=50):
            times = []
            for _ in range(k):
                code, took = get(path_of())
                assert code == 200, code
                times.append(took)
            times.sort()
            return times[len(times) // 2], times[int(len(times) * 0.95) - 1]
        get(page())
        get(dashboard())
        pm, p95 = measure(page)
        dm, d95 = measure(dashboard)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            paths = [page() for _ in range(8)]
            t = time.monotonic()
            done = list(ex.map(get, paths))
            parallel = time.monotonic() - t
        assert all(c == 200 for c, _ in done)
        status = open(f"/proc/{p.pid}/status").read()
        rss = lambda k: int(status.split(k + ":", 1)[1].split()[0]) // 1024
        print(f"{n} answers stored ({seeded:.1f} s to seed), database {size / 1e6:.0f} MB")
        print(f"agency page (so-noi-vu, {n * 6 // 10} of them): median {pm * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; "
              f"8 in parallel: {parallel * 1000:.0f} ms for all")
        print(f"dashboard: median {dm * 1000:.1f} ms, p95 {d95 * 1000:.1f} ms")
        print(f"RSS {rss('VmRSS')} MB (peak {rss('VmHWM')} MB)")
        return 0 if p95 < 0.020 and d95 < 0.020 else 1
    finally:
        p.terminate()
        p.wait(timeout=30)


def config_edits(tmp, edits):
    cfg = os.path.join(tmp, "cfg")
    shutil.copytree(os.path.join(ROOT, "config"), cfg)
    plan = os.path.join(cfg, "plans", "50-KH-UBND-2022.toml")
    with open(plan, encoding="utf-8") as f:
        original = f.read()
    env = dict(os.environ, NHACVIEC_STATE_DIR=os.path.join(tmp, "state"), NHACVIEC_LOG="info", NO_COLOR="1")
    log_path = os.path.join(tmp, "log")
    log = open(log_path, "w")
    p = subprocess.Popen([BIN, "--config", cfg, "run"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    time.sleep(2)
    valid_times = ["Quý III/2022", "Tháng 9/2022", "Trước ngày 15/12/2022", "Năm 2022", "6 tháng đầu năm 2022"]
    invalid = [("time = \"Quý V/2022\"", "Quý V"), ("bogus_key = 1", "bogus_key"), ("time = \"31/02/2022\"", "31/02"), ("[[task]\nid = \"x\"", "task")]
    sent_valid = sent_invalid = 0
    for i in range(edits):
        text = original
        if random.random() < 0.5:
            text = text.replace('time = "Tháng 3/2022"', f'time = "{random.choice(valid_times)}"', 1)
            sent_valid += 1
        else:
            bad, _ = random.choice(invalid)
            text = text.replace('time = "Tháng 6/2022"', bad, 1)
            sent_invalid += 1
        # Half the time like vim (write elsewhere, rename over), half in place.
        if random.random() < 0.5:
            tmpf = plan + ".swp~"
            with open(tmpf, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmpf, plan)
        else:
            with open(plan, "w", encoding="utf-8") as f:
                f.write(text)
        time.sleep(1.0)
        if p.poll() is not None:
            print(f"the service stopped after edit {i + 1}")
            return 1
    log.flush()
    with open(log_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    ok = sum("đã nạp lại cấu hình" in l for l in lines)
    failed = [l for l in lines if "nạp lại cấu hình thất bại" in l]
    located = [l for l in failed if "50-KH-UBND-2022.toml:" in l]
    alive = p.poll() is None
    p.terminate()
    code = p.wait(timeout=30)
    print(f"edits: {sent_valid} valid, {sent_invalid} invalid; reloads: {ok} applied, {len(failed)} refused "
          f"({len(located)} with file:line:column); running throughout: {alive}; exit on SIGTERM: {code}")
    return 0 if alive and code == 0 and len(located) == len(failed) and failed else 1


def junk_flood(tmp, seconds, clients):
    import http.client
    import secrets
    import signal
    import threading
    cfg = os.path.join(tmp, "cfg")
    shutil.copytree(os.path.join(ROOT, "config"), cfg)
    port = free_port()
    settings = os.path.join(cfg, "nhacviec.toml")
    with open(settings, encoding="utf-8") as f:
        text = f.read().replace('state_dir = "../var"', 'state_dir = "state"')
    with open(settings, "w", encoding="utf-8") as f:
        f.write(text + f'\n[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n')
    env = dict(os.environ, NHACVIEC_LOG="info", NO_COLOR="1", NHACVIEC_LINK_SECRET=secrets.token_hex(32))
    for k in ("NHACVIEC_STATE_DIR", "JOURNAL_STREAM", "NHACVIEC_LOG_FORMAT", "RUST_LOG"):
        env.pop(k, None)
    log_path = os.path.join(tmp, "log")
    log = open(log_path, "w")
    p = subprocess.Popen([BIN, "--config", cfg, "web"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        started = time.monotonic()
        while True:
            try:
                socket_ok = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                socket_ok.connect()
                socket_ok.close()
                break
            except OSError:
                if p.poll() is not None or time.monotonic() - started > 30:
                    print("nhacviec web did not start:", open(log_path, encoding="utf-8").read()[-800:])
                    return 1
                time.sleep(0.05)
        log.flush()
        lines_before = len(open(log_path, encoding="utf-8").read().splitlines())
        counts = [0] * clients
        codes = {}
        end = time.monotonic() + seconds

        def client(i):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            n = 0
            while time.monotonic() < end:
                try:
                    c.request("GET", f"/a/{secrets.token_urlsafe(24)}")
                    r = c.getresponse()
                    r.read()
                    codes[r.status] = codes.get(r.status, 0) + 1
                    n += 1
                except (OSError, http.client.HTTPException):
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            counts[i] = n
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        t = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            code = p.wait()
        stop = time.monotonic() - t
        log.close()
        with open(log_path, "rb") as f:
            data = f.read()
        lines = len(data.decode("utf-8", "replace").splitlines()) - lines_before
        total = sum(counts)
        print(f"junk flood: {total} requests in {took:.1f} s ({total / took:.0f} req/s, {clients} clients; answers {codes}); "
              f"log: {lines} lines ({len(data)} bytes); SIGTERM: exit {code} in {stop * 1000:.0f} ms")
        return 0 if lines < 100 and code == 0 and stop < 2.5 and codes.get(404, 0) > 0 else 1
    finally:
        if p.poll() is None:
            p.kill()


def connections(tmp, n):
    """2,000 connections to the pages at once (idle, or half a request line: slowloris):
    real requests made meanwhile are answered, and the header-read timeout cuts the idle ones."""
    import http.client
    import resource
    import secrets
    import socket
    import statistics
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 1024)), hard))
    cfg = os.path.join(tmp, "cfg")
    shutil.copytree(os.path.join(ROOT, "config"), cfg)
    port = free_port()
    settings = os.path.join(cfg, "nhacviec.toml")
    with open(settings, encoding="utf-8") as f:
        text = f.read().replace('state_dir = "../var"', 'state_dir = "state"')
    with open(settings, "w", encoding="utf-8") as f:
        f.write(text + f'\n[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n')
    env = dict(os.environ, NHACVIEC_LOG="warn", NO_COLOR="1", NHACVIEC_LINK_SECRET=secrets.token_hex(32))
    env.pop("NHACVIEC_STATE_DIR", None)
    p = subprocess.Popen([BIN, "--config", cfg, "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socks = []
    try:
        started = time.monotonic()
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if p.poll() is not None or time.monotonic() - started > 30:
                    print("nhacviec web did not start")
                    return 1
                time.sleep(0.05)
        opened = 0
        for i in range(n):
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                if i % 2:
                    c.sendall(b"GET /a/x HTTP/1.1\r\nHo")  # half a request: slowloris
                socks.append(c)
                opened += 1
            except OSError:
                pass
        # Real requests while they are open.
        took = []
        answered = 0
        for _ in range(20):
            t = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", f"/a/{secrets.token_urlsafe(24)}")
                r = c.getresponse()
                r.read()
                answered += r.status in (404, 410)
                c.close()
            except (OSError, http.client.HTTPException):
                pass
            took.append((time.monotonic() - t) * 1000)
        # The header-read timeout (5 s) cuts the idle and the half-sent ones.
        time.sleep(6.5)
        cut = 0
        for c in socks:
            try:
                c.settimeout(0.01)
                if c.recv(1) == b"":
                    cut += 1
            except socket.timeout:
                pass
            except OSError:
                cut += 1
        rss = 0
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) // 1024
        print(f"connections: {opened} opened at once (half of them sending half a request line)")
        print(f"  real requests meanwhile: {answered}/20 answered, median {statistics.median(took):.1f} ms, max {max(took):.1f} ms")
        print(f"  after 6.5 s: {cut}/{opened} cut by the server (header-read timeout 5 s, idle 5 s); RSS {rss} MB")
        return 0 if answered == 20 and cut >= opened * 0.95 else 1
    finally:
        for c in socks:
            c.close()
        p.terminate()
        p.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fault", choices=["kill9", "sink-down", "config-edits", "disk-full", "responsive", "junk-flood", "answers", "connections"])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--edits", type=int, default=100)
    ap.add_argument("--digests", type=int, default=None)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--answers", type=int, default=100000)
    a = ap.parse_args()
    if "NHACVIEC_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp()
    try:
        port = free_port()
        out = os.path.join(tmp, "inbox")
        cfg = os.path.join(tmp, "cfg")
        if a.fault == "junk-flood":
            sys.exit(junk_flood(tmp, a.seconds, a.clients))
        if a.fault == "connections":
            sys.exit(connections(tmp, a.connections))
        if a.fault == "config-edits":
            sys.exit(config_edits(tmp, a.edits))
        if a.fault == "answers":
            sys.exit(answers_case(tmp, a.answers))
        if a.fault == "responsive":
            sys.exit(responsive(tmp, a.digests or 10000))
        if a.fault == "disk-full":
            sys.exit(disk_full(tmp, a.digests or 2000))
        if a.fault == "kill9":
            n = a.digests or 10000
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), str(port)], check=True)
            sink = start_sink(port, out)
            kills = 0
            for _ in range(a.kills):
                p = run_once(cfg)
                time.sleep(random.uniform(0.02, 0.6))
                if p.poll() is None:
                    p.kill()
                    kills += 1
                p.wait()
            while run_once(cfg).wait() != 0:
                pass
            time.sleep(0.5)
            lost = report(n, received(out), kills)
            sink.kill()
        else:
            n = a.digests or 2000
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), str(port)], check=True)
            sink = start_sink(port, out)
            p = run_once(cfg)
            time.sleep(0.3)
            sink.kill()  # the server goes away mid-run
            p.wait()
            time.sleep(2)
            sink = start_sink(port, out)
            # Retries are due after their backoff: run until nothing is pending (or give up).
            deadline = time.time() + 600
            while time.time() < deadline:
                run_once(cfg).wait()
                if len(received(out)) >= n:
                    break
                time.sleep(10)
            lost = report(n, received(out))
            sink.kill()
        sys.exit(1 if lost else 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
