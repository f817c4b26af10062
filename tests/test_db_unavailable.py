"""A database that cannot be reached is a 503 with Retry-After, never a 500 (issue 14, item 9);
service resumes by itself once the database is back.

For real, against the running service (gunicorn, 2 workers):
- PostgreSQL: a throwaway server started by the test (as `scripts/_postgres.sh` starts the
  suite's) is stopped under the service and started again; requests sent meanwhile, API and
  pages, answer 200 or 503 (with Retry-After), and after the restart every request succeeds.
- SQLite: another process holds the write lock (a backup, a maintenance script) past the busy
  timeout: writes answer 503 with Retry-After; reads go on; once the lock is released the same
  write succeeds.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from server.web import i18n

from .live import Client, LiveServer, free_port, prepare_database
from .test_api_handoff import new_request

pytestmark = pytest.mark.slow
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "demo-pass-2026"
REQUEST = {
    "item_code": "A01",
    "community_codes": ["TB-RG-03"],
    "amount": "5000.00",
    "due_date": "2099-12-31",
}


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


class ThrowawayPostgres:
    """A PostgreSQL of the test's own (initdb in a temporary directory, a free port), run as the
    unprivileged `handoffpg` when the tests run as root, as scripts/_postgres.sh does."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="handoff-pg-503-"))
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            if subprocess.run(["id", "handoffpg"], capture_output=True).returncode != 0:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
                    + ["handoffpg"],
                    check=True,
                )
            shutil.chown(self.dir, "handoffpg")
            self.run_as = ["runuser", "-u", "handoffpg", "--"]
        self._pg("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str) -> None:
        command = [*self.run_as, str(self.bin / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.dir / "data"), str(self.dir / "log")
        self._pg("pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres():
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries not found")
        pytest.skip("no PostgreSQL server binaries")
    server = ThrowawayPostgres(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.remove()


class Page:
    """A signed-in browser for the pages (cookie session, CSRF token from each form)."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.http = requests.Session()
        token = CSRF_RE.search(self.http.get(base + "/login", timeout=30).text).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        r = self.http.post(base + "/login", data=form, allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text[:500]

    def get(self, path: str):
        return self.http.get(self.base + path, allow_redirects=False, timeout=30)


def assert_unavailable(response) -> None:
    """503, Retry-After in seconds, and the error body of the API or the page's own words."""
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert int(response.headers["Retry-After"]) > 0
    if response.headers["Content-Type"].startswith("application/json"):
        error = response.json()["error"]
        assert error["code"] == "unavailable" and error["message"]
    else:  # the page in its own language, from the catalogue
        zh, en = i18n.STRINGS["error.unavailable_text"]
        chinese = '<html lang="zh-CN">' in response.text
        assert (zh if chinese else en) in response.text
        assert (en if chinese else zh) not in response.text


def test_a_postgresql_restart_answers_503_then_service_resumes(postgres):
    prepare_database(postgres.url)
    server = LiveServer(postgres.url, workers=2, extra_env={"DB_CONNECT_TIMEOUT": "3"}).start()
    try:
        dept, page = Client(server.base, "dept.mz"), Page(server.base, "street.rg")
        created = new_request(dept, ["TB-RG-01"])
        assert dept.get("/tasks").status_code == 200 and page.get("/inbox").status_code == 200

        # requests all through the restart: each one a success or a 503, never a 500
        answers: list[requests.Response] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                answers.append(dept.get(f"/requests/{created['id']}"))
                answers.append(page.get("/inbox"))

        worker = threading.Thread(target=load)
        worker.start()
        try:
            time.sleep(0.5)
            postgres.stop()
            time.sleep(0.5)
            down = [
                dept.get("/tasks"),
                dept.post("/requests", {**REQUEST, "title": "停机时"}),
                requests.post(
                    server.base + "/api/v1/auth/token",
                    json={"username": "street.rg", "password": PASSWORD},
                    timeout=30,
                ),
                page.get("/inbox"),
                page.get("/inbox?lang=en"),
            ]
            postgres.start()
            time.sleep(0.5)
        finally:
            stop.set()
            worker.join(60)
        for response in down:
            assert_unavailable(response)
        chinese, english = down[-2].text, down[-1].text
        assert i18n.STRINGS["error.503"][0] in chinese and i18n.STRINGS["error.503"][1] in english
        assert {r.status_code for r in answers} <= {200, 503}, [
            (r.status_code, r.text[:200]) for r in answers if r.status_code not in (200, 503)
        ]
        assert 503 in {r.status_code for r in answers}
        for response in answers:
            if response.status_code == 503:
                assert_unavailable(response)

        # back: the pools replace their dead connections, nothing to restart
        for _ in range(5):
            assert dept.get("/tasks").status_code == 200
            assert page.get("/inbox").status_code == 200
        again = new_request(dept, ["TB-RG-02"])
        assert again["instances"][0]["state"] == "running"
        assert requests.get(server.base + "/readyz", timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_sqlite_database_locked_by_another_process_answers_503_then_resumes(tmp_path):
    url = f"sqlite:///{tmp_path}/locked.sqlite3"
    prepare_database(url)
    server = LiveServer(url, workers=2, extra_env={"DB_BUSY_TIMEOUT": "1"}).start()
    try:
        dept = Client(server.base, "dept.mz")
        body = {**REQUEST, "title": "锁定时"}
        lock = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the write lock, held as a long writer would
        try:
            assert_unavailable(dept.post("/requests", body))
            assert dept.get("/tasks").status_code == 200  # reads go on (WAL)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        created = dept.post("/requests", body)
        assert created.status_code == 201, created.text
        titles = [r["title"] for r in dept.get("/requests").json()["items"]]
        assert titles.count("锁定时") == 1  # the refused write left nothing behind
    finally:
        server.stop()
