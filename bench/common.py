"""Shared pieces of the benchmarks: throwaway databases, the service under gunicorn, timing.

Benchmarks print their figures; they are never timed tests. Every loop they run is bounded in
count and in time, and all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "demo-pass-2026"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- databases ------------------------------------------------------------------------------


def postgres_base_url() -> str:
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    if not url:
        sys.exit("set TEST_POSTGRES_URL (or BENCH_POSTGRES_URL) to a PostgreSQL superuser URL")
    return url


@contextmanager
def fresh_database(kind: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A new, empty database URL: a SQLite file in a temporary directory, or a PostgreSQL
    database `bench_<name>_<random>` created beside the server's `postgres` database."""
    if kind == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix=f"bench_{name}_"))
        try:
            yield f"sqlite:///{tmp / 'bench.sqlite3'}"
        finally:
            if not keep:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                print(f"kept {tmp}", file=sys.stderr)
        return
    if kind != "postgresql":
        raise ValueError(kind)
    from sqlalchemy import create_engine, text

    base = postgres_base_url()
    dbname = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + dbname
    finally:
        if keep:
            print(f"kept database {dbname}", file=sys.stderr)
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def _env(**extra) -> dict[str, str]:
    """The environment of the service's processes: this tree's code first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def prepare_database(url: str) -> None:
    """Migrate and seed the demo data with the README's commands."""
    env = _env(DATABASE_URL=url)
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "server", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )


# --- the service ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn 'server:create_app()'` on a free loopback port, like tests/live.py."""

    def __init__(
        self,
        url: str,
        *,
        workers: int,
        threads: int = 1,
        extra_env=None,
        app: str = "server:create_app()",
    ):
        self.url = url
        self.app = app
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.env = _env(DATABASE_URL=url, SECRET_KEY="b" * 48, **(extra_env or {}))
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    def start(self) -> Gunicorn:
        args = [
            str(BIN / "gunicorn"),
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "60",
        ]
        if self.threads > 1:
            args += ["--threads", str(self.threads)]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self._log
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError("gunicorn exited: " + self._log.read().decode()[-2000:])
            try:
                status, _ = request(self.port, "GET", "/readyz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the gunicorn workers."""
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids())

    def peak_rss_mb(self, field: str = "VmHWM") -> dict[int, float]:
        """VmHWM (peak resident set) of each worker, in MB; `field="VmRSS"`: resident now.

        The peak includes a sign-in's Argon2id hash, which takes 64 MiB for a moment by design
        (argon2-cffi's default memory cost): what the worker holds while it serves is VmRSS."""
        out = {}
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(f"{field}:"):
                        out[pid] = int(line.split()[1]) / 1024
            except OSError:
                pass
        return out

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(url: str) -> float:
    """CPU time used so far by the PostgreSQL backends serving this database (0 on SQLite)."""
    if not url.startswith("postgres"):
        return 0.0
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres:") and f" {dbname} " in cmd:
            total += process_cpu_seconds(int(entry.name))
    return total


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- a lean HTTP client ---------------------------------------------------------------------


class Http:
    """One keep-alive-capable connection (gunicorn's sync workers close it; it reopens)."""

    def __init__(self, port: int, timeout: float = 30):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, token: str | None = None, body=None):
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = "Bearer " + token
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            raise
        if resp.will_close:
            self.conn.close()
        ctype = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(raw) if raw and "json" in ctype else raw)


def request(port: int, method: str, path: str, token: str | None = None, body=None):
    return Http(port).call(method, path, token, body)


def sign_in(port: int, username: str) -> str:
    status, body = request(
        port, "POST", "/api/v1/auth/token", body={"username": username, "password": PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"sign-in {username}: {status} {body}")
    return body["token"]


# --- figures --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(values: list[float]) -> str:
    """p50/p95/p99 (and n) of durations in seconds, printed in milliseconds."""
    return (
        f"n={len(values):6d}  p50={percentile(values, 50) * 1000:7.1f}  "
        f"p95={percentile(values, 95) * 1000:7.1f}  p99={percentile(values, 99) * 1000:7.1f} ms"
    )


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPU(s) {model}".strip()
