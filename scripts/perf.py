#!/usr/bin/env python3
"""Performance figures, side by side with tools users know, in one run (ratios, not absolutes,
so a noisy machine does not mislead). Prints a report; docs/PERFORMANCE.md records one.

    scripts/perf.py [--digests N] [--only smtp|national|far|pages|idle] [--tasks 4] [--runs 3]
                    [--backend sqlite|postgres|both]

Needs (Debian): postfix (smtp-sink, smtp-source), prometheus-alertmanager, wrk; nginx for
`--only pages` (a private instance on loopback, its own prefix and config); postgresql for
`--backend postgres|both` (a private cluster, scripts/pgcluster.py). Builds release.
"""
import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from harness import BIN, ROOT, free_port


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])  # utime + stime


def idle(pid, seconds=10):
    t0 = cpu_ticks(pid)
    time.sleep(seconds)
    return rss_kb(pid) / 1024, (cpu_ticks(pid) - t0) / os.sysconf("SC_CLK_TCK") / seconds * 100


def idle_side_by_side(tmp):
    """Start to READY and idle cost on the sample config, beside Alertmanager in the same run:
    resident memory 20 s after start (the kernel's view, VmRSS) and CPU over its last 10 s."""
    sock = os.path.join(tmp, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock)
    s.settimeout(30)
    sample = os.path.join(tmp, "sample")
    shutil.copytree(os.path.join(ROOT, "config"), sample)
    env = dict(os.environ, NOTIFY_SOCKET=sock, NHACVIEC_STATE_DIR=os.path.join(tmp, "state"), NHACVIEC_LOG="warn")
    rows = []
    # The first start catches up a plan from 2022 (renders and writes its mail): idle after
    # that pass, then a second, steady start.
    for run in range(2):
        start = time.monotonic()
        p = subprocess.Popen([BIN, "--config", sample, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while "READY=1" not in s.recv(4096).decode():
                pass
            ready = time.monotonic() - start
            time.sleep(10)
            rss, cpu = idle(p.pid)
        finally:
            p.terminate()
            p.wait(timeout=30)
        if run == 0:
            # The sample plan is of 2022: past the catch-up horizon, its first pass may send nothing.
            mail = os.path.join(tmp, "state", "mail")
            sent = len(os.listdir(mail)) if os.path.isdir(mail) else 0
            rows.append((f"nhacviec, after its first start (a fresh state; its pass sent {sent} messages)", rss, cpu))
        else:
            rows.append(("nhacviec, after a quiet start (target RSS <= 14 MB)", rss, cpu))
    am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if am:
        # Its own config and storage in a temporary directory, on loopback, no cluster: never
        # the system service.
        am_dir = os.path.join(tmp, "am")
        os.makedirs(am_dir)
        with open(os.path.join(am_dir, "am.yml"), "w") as f:
            f.write("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        q = subprocess.Popen([am, f"--config.file={am_dir}/am.yml", f"--storage.path={am_dir}", f"--web.listen-address=127.0.0.1:{free_port()}", "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(10)
            rss, cpu = idle(q.pid)
        finally:
            q.terminate()
            q.wait(timeout=30)
        rows.append(("Alertmanager (Debian), quiet start", rss, cpu))
    print(f"start to READY=1 on the sample config (state already caught up): {ready * 1000:.0f} ms (target < 100 ms)")
    print(f"idle, 20 s after start (CPU over the last 10 s); load average {os.getloadavg()[0]:.1f}")
    print("| process | RSS | CPU |")
    print("|---|---|---|")
    for name, rss, cpu in rows:
        print(f"| {name} | {rss:.1f} MB | {cpu:.3f} % |")


def channel_config(tmp, name, n, settings, agency_lines):
    """A digests config of N agencies that prefer one channel; `agency_lines(i)` adds each
    agency's address for it."""
    cfg = os.path.join(tmp, name)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), "1"], check=True)
    with open(os.path.join(cfg, "nhacviec.toml"), "w") as f:
        f.write(f'state_dir = "state"\n\n[email]\npool_size = 8\n\n{settings}')
    path = os.path.join(cfg, "agencies.toml")
    with open(path) as f:
        blocks = f.read().split("\n[[")
    with open(path, "w") as f:
        for i, b in enumerate(blocks):
            if b.startswith("agency]"):
                idx = int(re.search(r'id = "a(\d+)"', b).group(1))
                b = b.rstrip("\n") + "\n" + agency_lines(idx) + "\n"
            f.write(("\n[[" if i else "") + b)
    return cfg


def run_once(cfg, env):
    """Seconds for `run --once` to evaluate, record, render, send and mark everything due."""
    start = time.monotonic()
    subprocess.run([BIN, "--config", cfg, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def wrk(tmp, url, body, headers):
    """wrk's rate POSTing `body` with `headers`, 8 connections for 5 s."""
    path = os.path.join(tmp, "body.json")
    with open(path, "w") as f:
        f.write(body)
    script = os.path.join(tmp, "post.lua")
    with open(script, "w") as f:
        f.write(f'wrk.method = "POST"\nlocal f = io.open("{path}", "r")\nwrk.body = f:read("*a")\nf:close()\n')
        for k, v in headers.items():
            f.write(f'wrk.headers["{k}"] = "{v}"\n')
    report = subprocess.run(["wrk", "-t1", "-c8", "-d5s", "-s", script, url], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))


def serve(script, args):
    """Starts a Python test server (it runs until its stdin closes) once it prints READY."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, script)] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    return p


def stop(p):
    p.stdin.close()
    p.wait(timeout=10)


def webhook(tmp, n):
    """Webhook delivery to the test receiver against wrk POSTing the same body to it."""
    port = free_port()
    cfg = channel_config(tmp, "webhook", n, f'[webhook]\nurl = "http://127.0.0.1:{port}/hook"\n', lambda i: 'channels = ["webhook"]')
    out = os.path.join(tmp, "hooks.jsonl")
    mock = serve("tests/webhook/server.py", ["--port", str(port), "--out", out, "--secret", "s"])
    try:
        ours = run_once(cfg, dict(os.environ, NHACVIEC_LOG="warn", NHACVIEC_WEBHOOK_SECRET="s"))
        with open(out) as f:
            bodies = [json.loads(line)["body"] for line in f]
        assert len(bodies) == n, f"{len(bodies)} of {n} webhooks received"
        theirs = wrk(tmp, f"http://127.0.0.1:{port}/hook", bodies[0], {"Content-Type": "application/json"})
    finally:
        stop(mock)
    print(f"webhook: {n} digests of ~{len(bodies[0].encode())} bytes to the test receiver (tests/webhook/server.py)")
    print(f"  nhacviec run --once (no rate limit on webhooks): {ours:.2f} s = {n / ours:.0f} req/s")
    print(f"  wrk -c8, same body, same receiver:              {theirs:.0f} req/s")
    print(f"  ratio: {n / ours / theirs:.2f} of wrk's rate")


def zalo_run(tmp, n, limit):
    """N ZNS digests through `run --once` to a fresh Zalo mock with the channel limited to
    `limit` requests a minute. Returns (seconds, ZNS requests the mock accepted, mock port)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = (f'[zalo]\napp_id = "1"\nzns_template_id = "250000"\n'
                f'template_params = {{ co_quan = "agency", han = "first_deadline", so_viec = "count" }}\n'
                f'oa_api = "{base}"\nzns_api = "{base}"\noauth_api = "{base}"\nrate_limit_per_minute = {limit}\n')
    cfg = channel_config(tmp, f"zalo-{limit}", n, settings, lambda i: f'zalo_phone = "09{i:08d}"\nchannels = ["zalo"]')
    mock = serve("tests/zalo/mock.py", ["--port", str(port), "--secret", "s", "--access", "AT0", "--refresh", "RT0"])
    env = dict(os.environ, NHACVIEC_LOG="warn", NHACVIEC_ZALO_SECRET_KEY="s")
    # The admin's step: store the refresh token; the first send exchanges it (one OAuth call).
    subprocess.run([BIN, "--config", cfg, "zalo", "login", "--refresh-token", "RT0"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        seconds = run_once(cfg, env)
        with urllib.request.urlopen(f"{base}/_state") as r:
            state = json.load(r)
    except BaseException:
        stop(mock)
        raise
    assert state["ok"] == n, f"{state['ok']} of {n} ZNS messages accepted"
    assert state["oauth_calls"] == 1, state["oauth_calls"]
    return seconds, state, mock, port


def zalo(tmp, n):
    """ZNS delivery to tests/zalo/mock.py, unlimited and limited, against wrk on the same mock."""
    seconds, state, mock, port = zalo_run(tmp, n, 100_000)
    try:
        body = json.dumps(state["received"][0]["body"])
        theirs = wrk(tmp, f"http://127.0.0.1:{port}/message/template", body, {"Content-Type": "application/json", "access_token": state["access"]})
    finally:
        stop(mock)
    limit, m = 4000, 300  # the default, Zalo's documented limit per app
    limited, _, mock, _ = zalo_run(tmp, m, limit)
    stop(mock)
    print(f"zalo: {n} ZNS digests of ~{len(body.encode())} bytes to the Zalo mock (tests/zalo/mock.py), one token refresh")
    print(f"  nhacviec run --once, rate_limit_per_minute = 100000 (the highest accepted, {100_000 / 60:.0f}/s): {seconds:.2f} s = {n / seconds:.0f} req/s")
    print(f"  wrk -c8, same body and token, same mock:                           {theirs:.0f} req/s")
    print(f"  ratio: {n / seconds / theirs:.2f} of wrk's rate")
    print(f"  {m} digests with rate_limit_per_minute = {limit} ({limit / 60:.0f}/s): {limited:.2f} s = {m / limited:.1f} req/s = {m / limited * 60:.0f}/min")


def tick_log(cfg, env, now):
    """`run --once` at `now` with JSON logs: (wall seconds, the pass's log fields (event "pass"))."""
    env = dict(env, NHACVIEC_LOG="info", NHACVIEC_LOG_FORMAT="json")
    start = time.monotonic()
    out = subprocess.run([BIN, "--config", cfg, "run", "--once", "--now", now], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    fields = {}
    for line in out.stderr.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("fields", {}).get("event") == "pass":
            fields = rec["fields"]
    return wall, fields


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def start_to_first_tick(cfg, env):
    """One start of the service on `cfg` (its state caught up), from the debug log's own
    events: seconds to the config read, then (since the config was read) the database open
    (PostgreSQL's `database` event, as the line arrived; None on SQLite), the schedule built
    and the first pass done."""
    env = dict(env, NHACVIEC_LOG="warn,nhacviec=debug", NHACVIEC_LOG_FORMAT="json")
    p = subprocess.Popen([BIN, "--config", cfg, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    fields, arrived = {}, {}
    try:
        for line in p.stderr:
            try:
                f = json.loads(line).get("fields", {})
            except ValueError:
                continue
            fields[f.get("event")] = f
            arrived[f.get("event")] = time.monotonic()
            if f.get("event") == "first_pass":
                break
    finally:
        p.terminate()
        p.communicate(timeout=30)
    db = arrived["database"] - arrived["config_read"] if "database" in arrived else None
    return {"read": fields["config_read"]["millis"] / 1000, "database": db,
            "schedule": fields["schedule_built"]["millis"] / 1000,
            "first": fields["first_pass"]["since_config_read_millis"] / 1000}


def median(xs):
    return sorted(xs)[len(xs) // 2]


class Backends:
    """Where a measurement keeps its state: SQLite in the state directory (the default), or a
    fresh database of a private PostgreSQL cluster (NHACVIEC_DATABASE_URL), made when first
    asked for and stopped at exit."""

    def __init__(self, which, statements=False):
        self.names = ["sqlite", "postgres"] if which == "both" else [which]
        self.cluster = None
        self.statements = statements

    def env(self, base, backend):
        """`base` for a fresh state on `backend`: on PostgreSQL a new database, as a new state
        directory is on SQLite (the caller reuses the environment where it reuses the directory)."""
        env = dict(base)
        env.pop("NHACVIEC_DATABASE_URL", None)
        if backend == "postgres":
            if self.cluster is None:
                from pgcluster import Cluster
                self.cluster = Cluster(statements=self.statements)
            env["NHACVIEC_DATABASE_URL"] = self.cluster.fresh_database()
        return env

    def reset(self, env):
        """The database's statement figures from now on (`--pg-statements`)."""
        if "NHACVIEC_DATABASE_URL" in env:
            self.cluster.reset_statements()

    def said(self, env, what):
        """Prints where the database's time went since `reset` (`--pg-statements`)."""
        if "NHACVIEC_DATABASE_URL" in env and self.statements:
            print(f"    PostgreSQL's statements, {what} (pg_stat_statements: server time only, not the round trips):")
            print("      " + self.cluster.statements_of(env["NHACVIEC_DATABASE_URL"]).rstrip().replace("\n", "\n      "))

    def label(self, backend):
        return {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend] if len(self.names) > 1 or backend != "sqlite" else ""


def national(tmp, backends):
    """The national fixture (12,002 agencies, 34 plans): the file transport on a fresh state,
    a second pass with nothing due, and the running service's tick with nothing due, read
    from its own tick-duration histogram under a per-second cron. With two backends each step
    runs on both, one after the other (the starts alternate), and the figures are printed side
    by side."""
    env = dict(os.environ)
    env.pop("NHACVIEC_STATE_DIR", None)
    now = "2022-06-01T08:00:00+07:00"
    sides = {}
    for b in backends.names:
        nat = os.path.join(tmp, f"national-run-{b}")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "national", nat], check=True)
        # The whole fresh catch-up at any hour, as measured before issue 13 (the defaults would
        # skip reminders older than 7 days and wait for the send hours); a tick every second for
        # the service part below.
        with open(os.path.join(nat, "nhacviec.toml"), "a") as fh:
            fh.write('\n[schedule]\nreminders = "* * * * * *"\ncatch_up_days = 366\nsend_hours = "always"\n')
        # One state for the whole section, as SQLite's state directory is.
        sides[b] = {"cfg": nat, "env": backends.env(env, b)}
    for b, s in sides.items():
        backends.reset(s["env"])
        wall, f = tick_log(s["cfg"], s["env"], now)
        files = len([n for n in os.listdir(os.path.join(s["cfg"], "state", "mail")) if n.endswith(".eml")])
        send_s = f.get("send_millis", 0) / 1000
        s.update(fresh=wall, files=files, evaluate=f.get("evaluate_millis", 0) / 1000, send=send_s)
        print(f"national{' on ' + backends.label(b) if backends.label(b) else ''}, file transport, fresh state: {files} digests written as .eml (atomic, fsynced)")
        print(f"  run --once end to end: {wall:.2f} s = {files / wall:.0f} files/s; evaluate and record {s['evaluate']:.2f} s, send {send_s:.2f} s = {files / max(send_s, 1e-9):.0f} files/s; load average {os.getloadavg()[0]:.1f}")
        backends.said(s["env"], "the fresh run --once")
    for s in sides.values():
        s["seconds"] = []
    for _ in range(3):
        for s in sides.values():
            s["seconds"].append(tick_log(s["cfg"], s["env"], now)[0])
    for b, s in sides.items():
        s["second"] = median(s["seconds"])
        print(f"  {backends.label(b) + ': ' if backends.label(b) else ''}a second run --once the same day (nothing due; load, build the schedule, tick): median {s['second']:.2f} s")
    # A start of the service: its first pass (the catch-up, at the real clock) once, then
    # starts with the state caught up, alternating the backends.
    for s in sides.values():
        start_to_first_tick(s["cfg"], s["env"])
        s["starts"] = []
    for _ in range(3):
        for s in sides.values():
            s["starts"].append(start_to_first_tick(s["cfg"], s["env"]))
    for b, s in sides.items():
        m = {k: median([r[k] for r in s["starts"]]) for k in ("read", "schedule", "first")}
        dbs = [r["database"] for r in s["starts"] if r["database"] is not None]
        m["database"] = median(dbs) if dbs else None
        s["start"] = m
        db = f", of which the database opened {m['database']:.2f} s" if m["database"] is not None else ""
        print(f"  {backends.label(b) + ': ' if backends.label(b) else ''}the service's start, state caught up: config read {m['read']:.2f} s, then schedule and first pass {m['first']:.2f} s "
              f"(target < 1 s; schedule built at {m['schedule']:.2f} s{db}), medians of 3; load average {os.getloadavg()[0]:.1f}")
    # The service, ticking every second on the national fixture.
    for b, s in sides.items():
        port = free_port()
        with open(os.path.join(s["cfg"], "nhacviec.toml"), "a") as fh:
            fh.write(f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
        p = subprocess.Popen([BIN, "--config", s["cfg"], "run"], env=dict(s["env"], NHACVIEC_LOG="warn"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    if (metric(port, "nhacviec_tick_duration_seconds_count") or 0) >= 2:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            c0, s0 = metric(port, "nhacviec_tick_duration_seconds_count"), metric(port, "nhacviec_tick_duration_seconds_sum")
            backends.reset(s["env"])
            time.sleep(20)
            c1, s1 = metric(port, "nhacviec_tick_duration_seconds_count"), metric(port, "nhacviec_tick_duration_seconds_sum")
            fast = metric(port, 'nhacviec_tick_duration_seconds_bucket{le="0.05"}')
            rss = rss_kb(p.pid) / 1024
        finally:
            p.terminate()
            p.wait(timeout=30)
        s["tick"] = (s1 - s0) / max(c1 - c0, 1)
        s["tick_load"] = os.getloadavg()[0]
        print(f"  {backends.label(b) + ': ' if backends.label(b) else ''}the service, cron every second, after its catch-up: {c1 - c0:.0f} ticks in 20 s, mean {s['tick'] * 1000:.1f} ms a tick (target < 50 ms); "
              f"{fast:.0f} of {c1:.0f} ticks under 50 ms; RSS {rss:.0f} MB (target < 200 MB); load average {s['tick_load']:.1f}")
        backends.said(s["env"], f"the service's {c1 - c0:.0f} ticks")
    if len(sides) == 2:
        q, p = sides["sqlite"], sides["postgres"]
        rows = [("fresh run --once (catch-up, file transport)", q["fresh"], p["fresh"]),
                ("a second run --once, nothing due (median of 3)", q["second"], p["second"]),
                ("start: process to config read (median of 3)", q["start"]["read"], p["start"]["read"]),
                ("start: config read to first pass done (median of 3)", q["start"]["first"], p["start"]["first"]),
                ("start: process to first pass done", q["start"]["read"] + q["start"]["first"], p["start"]["read"] + p["start"]["first"]),
                ("a tick with nothing due (/metrics, mean over 20 s)", q["tick"], p["tick"])]
        print(f"national, side by side (target: PostgreSQL within 3x SQLite's); load average {os.getloadavg()[0]:.1f}")
        print("| national fixture | SQLite | PostgreSQL | PostgreSQL / SQLite |")
        print("|---|---|---|---|")
        for name, a, b in rows:
            fmt = (lambda x: f"{x * 1000:.1f} ms") if max(a, b) < 0.1 else (lambda x: f"{x:.2f} s")
            print(f"| {name} | {fmt(a)} | {fmt(b)} | {b / a:.2f} |")


def far(tmp):
    """The national fixture with its dated deadlines in 2027 and in 2031 (plans "đến năm 2030"
    reach years past the ones the calendar is built for): a fresh state's run --once, then the
    median of 3 second runs (load, build the schedule, tick: what a start does before its first
    tick). Issue 29: with 2031 the first never finished (over 120 s) before the calendar kept
    the years it computes."""
    env = dict(os.environ, NHACVIEC_LOG="warn")
    env.pop("NHACVIEC_STATE_DIR", None)
    now = "2027-01-04T08:00:00+07:00"
    for year in (2027, 2031):
        d = os.path.join(tmp, f"national-{year}")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "national", d, str(year)], check=True)
        run = [BIN, "--config", d, "run", "--once", "--now", now]
        start = time.monotonic()
        subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fresh = time.monotonic() - start
        walls = []
        for _ in range(3):
            start = time.monotonic()
            subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.monotonic() - start)
        print(f"national, deadlines in {year}: fresh run --once {fresh:.2f} s; a second run --once (load, build, tick) median {sorted(walls)[1]:.2f} s; load average {os.getloadavg()[0]:.1f}")


def pages(tmp):
    """The monitoring office's dashboard on the national fixture (12,002 agencies, 34 plans),
    served by `nhacviec web` as of 01/12/2022: bytes, the first fetch and the median of the 3
    after it, for every plan, one plan (with its timeline), and the agencies' second page."""
    nat = os.path.join(tmp, "national-pages")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "national", nat], check=True)
    port = free_port()
    key = secrets.token_urlsafe(32)
    with open(os.path.join(nat, "nhacviec.toml"), "a", encoding="utf-8") as fh:
        fh.write(f'\n[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\nadmin_token = "sha256:{hashlib.sha256(key.encode()).hexdigest()}"\n')
    env = dict(os.environ, NHACVIEC_LOG="warn", NHACVIEC_LINK_SECRET=secrets.token_hex(32))
    env.pop("NHACVIEC_STATE_DIR", None)
    p = subprocess.Popen([BIN, "--config", nat, "web", "--now", "2022-12-01T08:00:00+07:00"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/theo-doi/{key}"
        deadline = time.monotonic() + 120
        while True:
            try:
                start = time.monotonic()
                urllib.request.urlopen(base, timeout=60).read()
                # The first page served computes the figures (every plan, this date).
                print(f"dashboard, national, the first request (its figures computed): {(time.monotonic() - start) * 1000:.0f} ms")
                break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        plan = urllib.parse.quote("1/KH-UBND")
        for name, query in [("every plan", ""), ("one plan, its timeline", f"?ke-hoach={plan}"), ("agencies, page 2", "?trang=2")]:
            walls, size = [], 0
            # The first of another plan or page computes its figures (or did, before they were
            # kept); the next three read them from memory.
            for _ in range(4):
                start = time.monotonic()
                size = len(urllib.request.urlopen(base + query, timeout=60).read())
                walls.append(time.monotonic() - start)
            print(f"dashboard, national, {name}: {size / 1024:.0f} KB, first {walls[0] * 1000:.0f} ms, then median {sorted(walls[1:])[1] * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}")
    finally:
        p.terminate()
        p.wait(timeout=30)


def smtp(tmp, a, procs, backends):
    """The held-out delivery workload: N real digests (several tasks each, the size of the
    national fixture's, ~5.8 KB with 4 tasks) over SMTP to Postfix's smtp-sink, nhacviec's
    `run --once` on a fresh state (on each backend: a new state directory, and on PostgreSQL a
    new database) against smtp-source with the same count, size and connections; each run
    back to back (a noisy machine slows all), median of the runs."""
    port = free_port()
    procs.append(subprocess.Popen(["smtp-sink"] + (["-u", "nobody"] if os.geteuid() == 0 else []) + [f"127.0.0.1:{port}", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    env = dict(os.environ)
    env.pop("NHACVIEC_STATE_DIR", None)

    def config(name, n, transport="smtp"):
        cfg = os.path.join(tmp, name)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "digests", cfg, str(n), str(port), str(a.tasks)], check=True)
        settings = os.path.join(cfg, "nhacviec.toml")
        with open(settings) as f:
            text = f.read().replace("pool_size = 8", f"pool_size = {a.connections}").replace('transport = "smtp"', f'transport = "{transport}"')
        with open(settings, "w") as f:
            f.write(text)
        return cfg

    # The size of one digest as sent: render one with the file transport.
    one = config("one", 1, "file")
    subprocess.run([BIN, "--config", one, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env=dict(env, NHACVIEC_LOG="warn"), check=True, stdout=subprocess.DEVNULL)
    mail = os.path.join(one, "state", "mail")
    size = max(os.path.getsize(os.path.join(mail, n)) for n in os.listdir(mail))
    on = " and ".join(backends.label(b) for b in backends.names if backends.label(b))
    print(f"delivery, the held-out workload: {a.digests} real digests ({a.tasks} tasks each, ~{size} bytes) over SMTP to smtp-sink, "
          f"{a.connections} connections for nhacviec and for smtp-source (-s {a.connections} -l {size}), fresh state{' on ' + on if on else ''}; load average {os.getloadavg()[0]:.1f} at start")
    runs = []
    for r in range(a.runs):
        ours = {}
        for b in backends.names:
            cfg = config(f"digests-{r}-{b}", a.digests)
            fresh = backends.env(env, b)
            backends.reset(fresh)
            wall, fields = tick_log(cfg, fresh, "2022-06-01T08:00:00+07:00")
            ours[b] = (wall, fields.get("evaluate_millis", 0) / 1000)
            backends.said(fresh, f"run {r + 1}")
        start = time.monotonic()
        subprocess.run(["smtp-source", "-m", str(a.digests), "-s", str(a.connections), "-l", str(size), "-f", "nv@tinh.example", "-t", "a@tinh.example", f"127.0.0.1:{port}"], check=True)
        theirs = time.monotonic() - start
        runs.append((ours, theirs, os.getloadavg()[0]))
        said = "; ".join(f"nhacviec{' on ' + backends.label(b) if backends.label(b) else ''} run --once {w:.2f} s = {a.digests / w:.0f} msg/s (evaluate {e:.2f} s), ratio {theirs / w:.2f}"
                         for b, (w, e) in ours.items())
        print(f"  run {r + 1}: {said}; smtp-source {theirs:.2f} s = {a.digests / theirs:.0f} msg/s; load average {runs[-1][2]:.1f}")
    theirs = median([r[1] for r in runs])
    print(f"  median of {a.runs}: smtp-source {theirs:.2f} s = {a.digests / theirs:.0f} msg/s")
    for b in backends.names:
        ours = median([r[0][b][0] for r in runs])
        target = 0.4 if b == "postgres" else 0.6
        print(f"  nhacviec{' on ' + backends.label(b) if backends.label(b) else ''}: median {ours:.2f} s = {a.digests / ours:.0f} msg/s (evaluate, render, record, send, mark); "
              f"ratio: median {median([r[1] / r[0][b][0] for r in runs]):.2f} of smtp-source's rate end to end (target >= {target})")
    if len(backends.names) == 2:
        q, p = median([r[0]["sqlite"][0] for r in runs]), median([r[0]["postgres"][0] for r in runs])
        each = ", ".join(f"{r[0]['postgres'][0] / r[0]['sqlite'][0]:.2f}" for r in runs)
        print(f"  side by side: PostgreSQL / SQLite time, median {p / q:.2f} (runs: {each})")


def agency_token(secret, agency, issued):
    """An agency's page token as `links::Signer::sign` makes it: version 1, the key's id, the
    issue time (seconds, big-endian), the agency, the first 16 bytes of HMAC-SHA256 over them.
    The server checks each one: a wrong token is a 404, which the run refuses."""
    import base64
    import hmac
    import struct
    key = secret.strip().encode()
    key_id = hashlib.sha256(b"nhacviec link key id\0" + key).digest()[:4]
    body = bytes([1]) + key_id + struct.pack(">q", issued) + agency.encode()
    tag = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


WRK_PATHS = """-- Each thread cycles through its own share of the links (one link serves at most
-- 30 requests a minute: web::guard::RATE_PER_MINUTE).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  paths = {}
  local n = 0
  for line in io.lines("%s") do
    if n %% %d == id then paths[#paths + 1] = line end
    n = n + 1
  end
  i = 0
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"""


def wrk_paths(script, url, threads=4, connections=32, seconds=10):
    """wrk over the paths of `script`: requests a second, p50 and p99 latency (ms), non-2xx."""
    report = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url], check=True, capture_output=True, text=True).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", report, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)), ms("50%"), ms("99%"), int(non2xx.group(1)) if non2xx else 0


def agency_page(tmp, runs=3):
    """An agency's page at sample scale (config/, Sở Nội vụ, 25/05/2022) under wrk -t4 -c32
    for 10 s, beside nginx serving a saved copy of the same page on the same paths. The rate
    limit stays: the requests cycle through 6,000 links of the agency (each issued a second
    apart, all valid), so no link is asked for more than 30 times in the run; any refusal
    (429) shows as non-2xx and is printed."""
    cfg = os.path.join(tmp, "sample-page")
    shutil.copytree(os.path.join(ROOT, "config"), cfg)
    port = free_port()
    with open(os.path.join(cfg, "nhacviec.toml"), "a", encoding="utf-8") as fh:
        fh.write(f'\n[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n')
    secret = secrets.token_hex(32)
    env = dict(os.environ, NHACVIEC_LOG="warn", NHACVIEC_LINK_SECRET=secret, NHACVIEC_STATE_DIR=os.path.join(tmp, "sample-state"))
    now = 1653440400  # 25/05/2022 08:00 +07:00
    p = subprocess.Popen([BIN, "--config", cfg, "web", "--now", "2022-05-25T08:00:00+07:00"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = None
    try:
        paths = [f"/a/{agency_token(secret, 'so-noi-vu', now - n)}" for n in range(6000)]
        first = f"http://127.0.0.1:{port}{paths[0]}"
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(first, timeout=30).read()
                break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        listing = os.path.join(tmp, "paths.txt")
        with open(listing, "w") as f:
            f.write("\n".join(paths[1:]) + "\n")
        script = os.path.join(tmp, "paths.lua")
        with open(script, "w") as f:
            f.write(WRK_PATHS % (listing, 4))
        # nginx: a private instance, its own prefix and config, the saved page on every path.
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "page.html"), "wb") as f:
            f.write(page)
        # nginx's workers run as another user when started as root: they must reach the page.
        os.chmod(tmp, 0o711)
        os.chmod(www, 0o755)
        os.chmod(os.path.join(www, "page.html"), 0o644)
        nport = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes auto;\ndaemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\nevents {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {tmp}/nginx-body;\n  proxy_temp_path {tmp}/nginx-proxy;\n  fastcgi_temp_path {tmp}/nginx-fastcgi;\n  uwsgi_temp_path {tmp}/nginx-uwsgi;\n  scgi_temp_path {tmp}/nginx-scgi;\n  server {{\n    listen 127.0.0.1:{nport};\n    root {www};\n    location / {{ default_type "text/html; charset=utf-8"; try_files /page.html =404; }}\n  }}\n}}\n""")
        nginx = subprocess.Popen(["nginx", "-p", tmp, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        assert urllib.request.urlopen(f"http://127.0.0.1:{nport}{paths[1]}", timeout=10).read() == page
        print(f"agency page, sample config (Sở Nội vụ, {len(page) / 1024:.0f} KB), wrk -t4 -c32 -d10s over {len(paths) - 1} links:")
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(wrk_paths(script, f"http://127.0.0.1:{port}"))
            theirs.append(wrk_paths(script, f"http://127.0.0.1:{nport}"))
            print(f"  nhacviec web: {ours[-1][0]:.0f} req/s, p50 {ours[-1][1]:.2f} ms, p99 {ours[-1][2]:.2f} ms, non-2xx {ours[-1][3]}; nginx (saved copy): {theirs[-1][0]:.0f} req/s, p50 {theirs[-1][1]:.2f} ms, p99 {theirs[-1][2]:.2f} ms; load average {os.getloadavg()[0]:.1f}")
            # The limiter counts per minute: a minute between two runs, so no minute holds a
            # link's requests of two runs.
            if len(ours) < runs:
                time.sleep(60)
        med = lambda xs, k: sorted(x[k] for x in xs)[len(xs) // 2]
        print(f"  median of {runs}: nhacviec {med(ours, 0):.0f} req/s, p99 {med(ours, 2):.2f} ms; nginx {med(theirs, 0):.0f} req/s, p99 {med(theirs, 2):.2f} ms; ratio {med(ours, 0) / med(theirs, 0):.2f}")
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait(timeout=30)
        p.terminate()
        p.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--digests", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=10, help="SMTP connections, both sides")
    ap.add_argument("--tasks", type=int, default=4, help="tasks in each SMTP digest (4: ~5.8 KB, a real digest)")
    ap.add_argument("--runs", type=int, default=3, help="SMTP runs, each nhacviec then smtp-source; the median is reported")
    ap.add_argument("--only", choices=["smtp", "national", "far", "pages", "idle"], help="run one section")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite",
                    help="the state's database for the smtp and national sections (both: side by side in one run, "
                         "PostgreSQL a private cluster of this run); the other sections run on SQLite")
    ap.add_argument("--pg-statements", action="store_true",
                    help="PostgreSQL's statements by total time after each measurement on it (pg_stat_statements; a diagnosis, it slows the server a little)")
    a = ap.parse_args()
    # The backend is this script's choice, never the caller's environment's.
    os.environ.pop("NHACVIEC_DATABASE_URL", None)
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    backends = Backends(a.backend, a.pg_statements)
    if "NHACVIEC_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp()
    procs = []
    try:
        if a.only == "national":
            national(tmp, backends)
            return
        if a.only == "far":
            far(tmp)
            return
        if a.only == "pages":
            pages(tmp)
            agency_page(tmp)
            return
        if a.only == "idle":
            idle_side_by_side(tmp)
            return
        # 1. Delivery throughput: nhacviec vs smtp-source, same sink, same count and size.
        smtp(tmp, a, procs, backends)
        if a.only == "smtp":
            return

        webhook(tmp, a.digests)
        zalo(tmp, a.digests)

        idle_side_by_side(tmp)

        national(tmp, backends)

        pages(tmp)
        agency_page(tmp)

        # 3. check on a national-scale config.
        nat = os.path.join(tmp, "national")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/gen-config.py"), "national", nat], check=True)
        start = time.monotonic()
        subprocess.run([BIN, "--config", nat, "check"], check=True, stdout=subprocess.DEVNULL)
        print(f"check on 34 plans x 30 tasks, 12,002 agencies: {(time.monotonic() - start) * 1000:.0f} ms (target < 1 s)")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if backends.cluster:
            backends.cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
