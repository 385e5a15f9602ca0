"""A private PostgreSQL cluster for scripts/perf.py, as tests/it/support/postgres.rs makes the
tests' one: Debian's server, `initdb` in a temporary directory (run as the `postgres` user
when root: PostgreSQL refuses root), listening on loopback on a free port of its own, password
authentication over TCP; never the system cluster. A fresh database for each measurement;
stopped and removed at exit.

Unlike the tests' cluster it keeps PostgreSQL's durable defaults (fsync, full page writes,
synchronous commit): SQLite's side of a comparison syncs too.
"""
import atexit
import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from harness import free_port

USER = "nhacviec"
PASSWORD = "mat-khau-do-hieu-nang"


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return os.path.dirname(found[-1])


class Cluster:
    def __init__(self, statements=False):
        self.bin = bindir()
        self.statements = statements
        self.root = tempfile.mkdtemp(prefix="nhacviec-perf-pg-")
        self.port = free_port()
        self.count = 0
        self.proc = None
        # As root the server and initdb run as `postgres`, which must own the directory.
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.owner:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        pw = os.path.join(self.root, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD)
        if self.owner:
            os.chown(pw, self.owner.pw_uid, self.owner.pw_gid)
        atexit.register(self.stop)
        self.data = os.path.join(self.root, "data")
        subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", USER, "--auth-local=trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", f"--pwfile={pw}"],
                       check=True, stdout=subprocess.DEVNULL, **self._as_owner())
        log = open(os.path.join(self.root, "server.log"), "w")
        if self.owner:
            os.chown(log.name, self.owner.pw_uid, self.owner.pw_gid)
        self.proc = subprocess.Popen([os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port), "-k", self.root,
                                      "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
                                     + (["-c", "shared_preload_libraries=pg_stat_statements"] if statements else []),
                                     stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent, **self._as_owner())
        deadline = time.monotonic() + 60
        while subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                with open(log.name) as f:
                    raise SystemExit(f"the private PostgreSQL did not start: {f.read()}")
            time.sleep(0.1)
        if statements:
            self.psql("CREATE EXTENSION pg_stat_statements")

    def _as_owner(self):
        return {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []} if self.owner else {}

    def psql(self, sql, out=False):
        """Runs `sql` as the cluster's owner over its Unix socket (trusted locally); its
        output when `out`."""
        return subprocess.run([os.path.join(self.bin, "psql"), "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", self.root, "-p", str(self.port),
                               "-U", USER, "-d", "postgres", "-c", sql], check=True, text=True,
                              stdout=subprocess.PIPE if out else subprocess.DEVNULL).stdout

    def reset_statements(self):
        if self.statements:
            self.psql("SELECT pg_stat_statements_reset()")

    def statements_of(self, url, top=8):
        """Where the database's time went since the last reset (pg_stat_statements, when the
        cluster loads it): its statements by total time, as a table; "" otherwise."""
        if not self.statements:
            return ""
        name = url.rsplit("/", 1)[1]
        return self.psql(f"""SELECT calls, round(total_exec_time)::bigint AS total_ms,
                round((total_exec_time / calls)::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{name}')
            UNION ALL SELECT sum(calls), round(sum(total_exec_time))::bigint, NULL, sum(rows), '(all statements)'
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{name}')
            ORDER BY total_ms DESC LIMIT {top + 1}""", out=True)

    def fresh_database(self):
        """A new, empty database: its connection string (TCP, password), as a service has it."""
        self.count += 1
        name = f"perf_{os.getpid()}_{self.count}"
        self.psql(f"CREATE DATABASE {name}")
        return f"postgres://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{name}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


def _die_with_parent():
    # SIGQUIT (PostgreSQL's immediate stop) if the script is killed before its atexit runs.
    # Runs after the change of user, which would clear it.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG
