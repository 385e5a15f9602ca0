#!/usr/bin/env python3
"""Two builds or more compared on one machine state: the delivery workload of `perf.py --only
smtp` (10,000 digests to smtp-sink, 10 connections, a fresh state each run), the builds run in
turn round after round, so that a machine getting slower or faster weighs on each alike. Prints
each run and the medians: wall time, nhacviec's CPU, the PostgreSQL server's CPU (its
processes, those ended included), and the pass's `record_millis` and `send_millis`.

    scripts/perf-ab.py [--rounds 5] [--backend postgres|sqlite] BINARY BINARY...

Keep the builds to compare as copies (e.g. `cp target/release/nhacviec /tmp/nv-before`).
Needs (Debian): postfix (smtp-sink), postgresql for `--backend postgres`.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port  # noqa: E402
from pgcluster import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")


def cpu_of(pid, children=True):
    """User + system seconds of `pid`, with its reaped children's when `children`."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return sum(int(x) for x in fields[11:15 if children else 13]) / HZ


def server_cpu(cluster):
    """The server's CPU: the postmaster, the sessions it reaped, the processes still running."""
    pid = cluster.proc.pid
    total = cpu_of(pid)
    for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
        total += cpu_of(int(child), children=False)
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("binaries", nargs="+")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="nhacviec-ab-")
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        cfg = os.path.join(tmp, "cfg")
        subprocess.run([sys.executable, os.path.join(HERE, "gen-config.py"), "digests", cfg, "10000", str(port), "4"], check=True)
        toml = os.path.join(cfg, "nhacviec.toml")
        with open(toml) as f:
            text = f.read().replace("pool_size = 8", "pool_size = 10")
        with open(toml, "w") as f:
            f.write(text)
        cluster = Cluster() if a.backend == "postgres" else None
        runs = {b: [] for b in a.binaries}
        n = 0
        for _ in range(a.rounds):
            for b in a.binaries:
                n += 1
                env = dict(os.environ, NHACVIEC_LOG="warn,nhacviec=debug", NHACVIEC_STATE_DIR=os.path.join(tmp, f"state{n}"))
                if cluster:
                    env["NHACVIEC_DATABASE_URL"] = cluster.fresh_database()
                time.sleep(1)
                pg0 = server_cpu(cluster) if cluster else 0.0
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.monotonic()
                out = subprocess.run([b, "--config", cfg, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"],
                                     env=env, capture_output=True, text=True)
                wall = time.monotonic() - t
                if out.returncode != 0:
                    raise SystemExit(f"{b} failed: {out.stderr[-2000:]}")
                time.sleep(0.3)  # the server's sessions end and are reaped
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                pg = (server_cpu(cluster) - pg0) if cluster else 0.0
                ours = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
                phases = dict(re.findall(r"(record|send)_millis=(\d+)", out.stderr))
                row = (wall, ours, pg, int(phases.get("record", 0)), int(phases.get("send", 0)))
                runs[b].append(row)
                print(f"{b}: wall {wall:.2f} s, nhacviec CPU {ours:.2f} s, server CPU {pg:.2f} s, record {row[3]} ms, send {row[4]} ms", flush=True)
        print()
        for b in a.binaries:
            cols = list(zip(*runs[b]))
            m = [statistics.median(c) for c in cols]
            print(f"{b}: median wall {m[0]:.2f} s, nhacviec CPU {m[1]:.2f} s, server CPU {m[2]:.2f} s, record {m[3]:.0f} ms, send {m[4]:.0f} ms")
    finally:
        sink.kill()


if __name__ == "__main__":
    main()
