"""Cost of each hot-path request, in-process: database round trips, statements and CPU, beside
the floor of this stack measured in the same run.

    python bench/roundtrips.py --db sqlite     --handoffs 40
    python bench/roundtrips.py --db postgresql --handoffs 40

It migrates and seeds a fresh database with the README's commands, builds the app
(`server.create_app`) and walks whole handoffs through Flask's test client, as `bench/load.py`'s
clients do over HTTP: start, then each task found in its actor's inbox and completed. Every
request is counted (`bench/wire.py`): on PostgreSQL its round trips as libpq's own trace of
each connection shows them, and its statements; on SQLite, where there is no wire, its
statements, BEGIN and COMMIT.

The floor pieces (`bench/floor.py`) run in the same process, so their ratio to the code holds
on a noisy machine: an empty Flask view, the SpiffWorkflow step of a completion with the
project's state JSON, and the same row writes as plain DBAPI statements.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402
from common import (  # noqa: E402
    PASSWORD,
    fresh_database,
    load_average,
    machine,
    postgres_cpu_seconds,
    prepare_database,
)
from load import demo_accounts, handoff_steps  # noqa: E402
from wire import Wire  # noqa: E402

API = "/api/v1"


class Walker:
    def __init__(self, db, client, tokens, accounts, wire) -> None:
        self.client, self.tokens, self.accounts, self.wire = client, tokens, accounts, wire
        self.db = db
        self.samples: list[floor.Sample] = []
        self.trace_kind: str | None = None  # print the statements of the next request of it
        self.profiler = None  # cProfile of the requests whose kind starts with profile_kind
        self.profile_kind = ""
        self.costs: dict[str, list[dict]] = defaultdict(list)
        self.today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    def call(self, kind, method, path, user, body=None, expect=200):
        headers = {"Authorization": "Bearer " + self.tokens[user]}
        tracing = self.trace_kind is not None and kind == self.trace_kind
        self.wire.take()
        cpu = time.process_time()
        if self.profiler is not None and kind.startswith(self.profile_kind):
            self.profiler.enable()
        resp = self.client.open(API + path, method=method, json=body, headers=headers)
        if self.profiler is not None:
            self.profiler.disable()
        cpu = time.process_time() - cpu
        cost = self.wire.take()
        if tracing:
            print(f"--- {kind} {path}: {cost['round_trips']} round trips")
            for n, trip in enumerate(self.wire.last, 1):
                print(f"{n:3d}. " + "\n     ".join(" ".join(s.split())[:150] for s in trip))
            self.trace_kind = None
        if resp.status_code != expect:
            raise RuntimeError(f"{kind} {path}: HTTP {resp.status_code} {resp.get_data()[:300]}")
        self.costs[kind].append({**cost, "cpu": cpu})
        return resp.get_json()

    def handoff(self, n: int, capture: bool = False) -> None:
        accts = self.accounts
        community, committee, street = accts["communities"][n % len(accts["communities"])]
        dept = accts["departments"][n % len(accts["departments"])]
        finance = accts["finance"]
        body = self.call(
            "start",
            "POST",
            "/requests",
            dept,
            {
                "title": f"低保对象入户调查 {n}",
                "item_code": "A01",
                "community_codes": [community],
                "amount": "5000.00",
                "due_date": "2099-12-31",
            },
            expect=201,
        )
        rid = body["id"]
        steps = handoff_steps(street, committee, dept, finance, self.today)
        for key, user, data in steps:
            page = self.call("inbox", "GET", f"/tasks?key={key}&request_id={rid}&per_page=5", user)
            (item,) = page["items"]
            before = self.state_of(item["id"]) if capture else None
            path = f"/tasks/{item['id']}/complete"
            self.call(f"complete {key}", "POST", path, user, {"data": data})
            if before is not None:
                self.samples.append(self.sample(before, item["id"]))

    def fanout(self, n: int) -> None:
        """One request to every demo community: one transaction, one handoff per community."""
        codes = [c for c, _, _ in self.accounts["communities"]]
        self.call(
            "fan-out (all communities)",
            "POST",
            "/requests",
            self.accounts["departments"][n % len(self.accounts["departments"])],
            {
                "title": f"全区入户调查 {n}",
                "item_code": "A01",
                "community_codes": codes,
                "amount": "5000.00",
                "due_date": "2099-12-31",
            },
            expect=201,
        )

    def state_of(self, task_id: int) -> tuple:
        from workflows.models import ProcessInstance, Task

        with self.db.read() as session:
            task = session.get(Task, task_id)
            instance = session.get(ProcessInstance, task.instance_id)
            return instance.definition_id, instance.state, task.spiff_id, task.key

    def sample(self, before: tuple, task_id: int) -> floor.Sample:
        from workflows.models import Task

        with self.db.read() as session:
            data = session.get(Task, task_id).data
        return floor.Sample(*before, data=data)


def print_profile(profiler, top: int = 40) -> None:
    """Where the profiled requests' time went: by package, then the top functions (own time)."""
    import pstats

    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        by_package[_package(filename)] += tottime
    total = sum(by_package.values()) or 1
    print(
        "own time by package: "
        + ", ".join(
            f"{pkg} {t / total:.0%}"
            for pkg, t in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
        )
    )
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"/(workflows|handoff|server|notifications)/", top)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for own in ("workflows", "handoff", "server", "notifications"):
        if f"/{own}/" in filename:
            return own
    return "python" if filename.startswith(("<", "/usr", "/root/.pyenv", "~")) else filename


def sign_in(client, username: str) -> str:
    resp = client.post(API + "/auth/token", json={"username": username, "password": PASSWORD})
    if resp.status_code != 200:
        raise RuntimeError(f"sign-in {username}: {resp.status_code}")
    return resp.get_json()["token"]


def report(costs: dict[str, list[dict]], warm: int, sqlite: bool) -> dict[str, float]:
    """Print the median cost of each kind of request; return mean CPU (ms) per kind group.
    On SQLite, which has no wire, "round trips" are the statements, BEGIN and COMMIT."""
    label = "stmts+tx" if sqlite else "round trips"
    print(f"{'request':28s} {'n':>4s} {label:>11s} {'statements':>10s} {'CPU ms p50':>10s}")
    groups: dict[str, list[float]] = defaultdict(list)
    trips: dict[str, list[int]] = defaultdict(list)
    for kind, rows in sorted(costs.items()):
        rows = rows[warm:]
        med = {
            k: statistics.median(r.get(k, 0) for r in rows) for k in ("round_trips", "statements")
        }
        cpu = statistics.median(r["cpu"] for r in rows) * 1000
        print(
            f"{kind:28s} {len(rows):4d} {med['round_trips']:11.0f} {med['statements']:10.0f} "
            f"{cpu:10.2f}"
        )
        group = "complete" if kind.startswith("complete") else kind
        groups[group].extend(r["cpu"] * 1000 for r in rows)
        trips[group].extend(r["round_trips"] for r in rows)
    prepares = sum(r.get("prepares", 0) for rows in costs.values() for r in rows)
    print(f"  (apart: {prepares} round trips in which psycopg prepared a statement, once each)")
    for group in ("complete", "inbox", "start"):
        print(
            f"  {group}: round trips mean {statistics.fmean(trips[group]):.1f}, "
            f"max {max(trips[group])}; CPU mean {statistics.fmean(groups[group]):.2f} ms"
        )
    return {g: statistics.fmean(v) for g, v in groups.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--handoffs", type=int, default=40, help="whole handoffs (at most 2000)")
    ap.add_argument("--trace", help="print the statements of one request of this kind")
    ap.add_argument(
        "--profile", help="cProfile the requests whose kind starts with this (e.g. complete)"
    )
    ap.add_argument("--fanouts", type=int, default=5, help="requests to all 39 communities")
    ap.add_argument("--warm", type=int, default=3, help="first requests of each kind not counted")
    args = ap.parse_args()
    handoffs = max(1, min(args.handoffs, 2000))
    print(f"roundtrips: {args.db}, {handoffs} handoffs; {machine()}; load {load_average()}")
    with fresh_database(args.db, "roundtrips") as url:
        prepare_database(url)
        import os

        os.environ["DATABASE_URL"] = url
        from server import create_app

        app = create_app({"DATABASE_URL": url})
        logging.getLogger("server.access").setLevel(logging.WARNING)
        db = app.extensions["db"]
        wire = Wire(db)
        client = app.test_client()
        accounts = demo_accounts()
        users = {u for c in accounts["communities"] for u in c[1:]}
        users |= set(accounts["departments"]) | {accounts["finance"]}
        tokens = {u: sign_in(client, u) for u in sorted(users)}
        walker = Walker(db, client, tokens, accounts, wire)
        if args.profile:
            import cProfile

            walker.profiler = cProfile.Profile(time.process_time)  # CPU, not waits
            walker.profile_kind = args.profile
        backend = postgres_cpu_seconds(url) if args.db == "postgresql" else 0.0
        for n in range(handoffs):
            if n == args.warm and args.trace:
                walker.trace_kind = args.trace
            walker.handoff(n)
        backend = (postgres_cpu_seconds(url) - backend) if args.db == "postgresql" else 0.0
        fanout_backend = postgres_cpu_seconds(url) if args.db == "postgresql" else 0.0
        fanouts = min(args.fanouts, 50)
        for n in range(fanouts + args.warm if fanouts else 0):
            walker.fanout(n)
        if args.db == "postgresql" and fanouts:
            fanout_backend = (postgres_cpu_seconds(url) - fanout_backend) / (fanouts + args.warm)
        costs = {k: list(v) for k, v in walker.costs.items()}
        if walker.profiler is not None:
            print_profile(walker.profiler)
            walker.profiler = None
        print(f"load {load_average()}")
        cpu = report(costs, args.warm, args.db == "sqlite")
        completions = handoffs * 8
        cycle = cpu["complete"] + cpu["inbox"] + cpu["start"] / 8
        # a handoff is 8 cycles: 8 completions, 8 inbox reads, 1 start
        backend_cycle = backend * 1000 / completions
        print(
            f"cycle (complete + inbox + 1/8 start): app CPU {cycle:.2f} ms, "
            f"database backend {backend_cycle:.2f} ms ({completions} completions)"
        )
        if fanouts:
            print(
                f"fan-out to {len(accounts['communities'])} communities: app CPU "
                f"{cpu['fan-out (all communities)']:.1f} ms + backend {fanout_backend * 1000:.1f}"
                " ms per request"
            )
        walker.handoff(handoffs, capture=True)  # not counted: the engine step's samples
        pieces = floor.measure(db, walker.samples)
        floor.print_pieces(pieces)
        total = floor.cycle(pieces)
        print(
            f"ratio: cycle ÷ floor = {(cycle + backend_cycle) / total:.2f}× "
            f"(app ÷ in-process floor {cycle / floor.cycle(pieces, backend=False):.2f}×); "
            f"load {load_average()}"
        )
        db.dispose()


if __name__ == "__main__":
    main()
