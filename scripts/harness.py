"""What scripts/perf.py and scripts/faults.py share: where the release binary is, free ports."""
import os
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# NHACVIEC_BIN measures another build (e.g. another profile) with the same scripts.
BIN = os.environ.get("NHACVIEC_BIN") or os.path.join(ROOT, "target", "release", "nhacviec")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
