#!/usr/bin/env python3
"""Writes build/hot-functions.txt: the functions of the release binary that a service runs (its
start, a pass that sends, its idle loop), which build.rs asks lld to place together so that the
kernel maps little of the binary at idle (docs/PERFORMANCE.md "Idle memory").

    scripts/hot-functions.py

Needs valgrind (callgrind lists every function that ran, not a sample). Run it on a release
build after a change of dependencies or of what the service does at start, then rebuild; a name
that is no longer in the binary is skipped by the linker, so a stale list costs memory, not
correctness.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import BIN, ROOT

OUT = os.path.join(ROOT, "build", "hot-functions.txt")


def callgrind(out, args, env, seconds=None):
    cmd = ["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no", "--dump-instr=no", f"--callgrind-out-file={out}", BIN] + args
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if seconds is None:
        p.wait()
        return
    time.sleep(seconds)  # the start, the first pass and a few of the 2 s polls, under valgrind
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)


def main():
    if "NHACVIEC_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp()
    try:
        day = os.path.join(tmp, "day")
        night = os.path.join(tmp, "night")
        shutil.copytree(os.path.join(ROOT, "config"), night)
        shutil.copytree(os.path.join(ROOT, "config"), day)
        path = os.path.join(day, "nhacviec.toml")
        with open(path, encoding="utf-8") as f:
            text = re.sub(r'(?m)^send_hours = ".*"$', 'send_hours = "always"', f.read())
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        env = dict(os.environ, NHACVIEC_STATE_DIR=os.path.join(tmp, "state"), NHACVIEC_LOG="warn")
        runs = [os.path.join(tmp, f"cg.{i}") for i in range(3)]
        # A pass that evaluates, renders, records and sends (the file transport) on a fresh state;
        # then the service, a quiet start, idle; then at night, its pass deferred by the send hours.
        callgrind(runs[0], ["--config", day, "run", "--once", "--now", "2022-06-01T08:00:00+07:00"], env)
        callgrind(runs[1], ["--config", day, "run"], env, seconds=14)
        callgrind(runs[2], ["--config", night, "run"], env, seconds=14)
        ran = set()
        for r in runs:
            with open(r, errors="replace") as f:
                for line in f:
                    if line.startswith(("fn=", "cfn=")):
                        ran.add(re.sub(r"^\(\d+\)\s*", "", line.split("=", 1)[1].strip()))
        nm = subprocess.run(["nm", "-S", "--defined-only", BIN], capture_output=True, text=True, check=True).stdout
        text = {}
        for line in nm.splitlines():
            p = line.split()
            if len(p) == 4 and p[2] in "tTwW":
                text[p[3]] = int(p[1], 16)
        hot = sorted(n for n in ran if n in text)
        with open(OUT, "w") as f:
            f.write("\n".join(hot) + "\n")
        print(f"{len(hot)} functions, {sum(text[n] for n in hot) // 1024} KB of {sum(text.values()) // 1024} KB of code: {OUT}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
