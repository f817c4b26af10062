"""Start the real service for HTTP tests: migrate and seed with the README's commands, then
gunicorn on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def prepare_database(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    for args in (["db", "upgrade"], ["seed-demo", "--if-empty"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "server", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )


class LiveServer:
    def __init__(self, url: str, *, workers: int = 2, host: str = "127.0.0.1", extra_env=None):
        self.db_url = url
        self.host = host
        self.port = free_port(host)
        self.base = f"http://{host}:{self.port}"
        self.workers = workers
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "t" * 48, **(extra_env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def start(self) -> LiveServer:
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "server:create_app()",
                "--bind",
                f"{self.host}:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,  # a file, not a pipe: a full pipe would stall the server
            start_new_session=True,  # its own process group, so kill() reaches every worker
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("gunicorn exited: " + self.log.read().decode()[-2000:])
            try:
                if requests.get(self.base + "/readyz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: a crash, not a shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Client:
    """A signed-in API client for one demo account."""

    def __init__(self, base: str, username: str, password: str = "demo-pass-2026"):
        self.base = base + "/api/v1"
        self.username = username
        self.http = requests.Session()
        r = self.http.post(
            self.base + "/auth/token", json={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **kw):
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, json=None, **kw):
        return self.http.post(self.base + path, json=json, timeout=60, **kw)

    def patch(self, path: str, json=None, **kw):
        return self.http.patch(self.base + path, json=json, timeout=30, **kw)

    def inbox(self, **params) -> list[dict]:
        r = self.get("/tasks", params={"per_page": 200, **params})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def complete(self, task_id: int, data: dict):
        return self.post(f"/tasks/{task_id}/complete", {"data": data})
