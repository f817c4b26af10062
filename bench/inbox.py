"""Inbox benchmark: the first inbox page with its total at 1,000,000 open tasks.

    python bench/inbox.py --db postgresql --tasks 1000000
    python bench/inbox.py --db sqlite --tasks 1000000

Fresh database, `db upgrade` + `seed-demo`, then bulk filler (bench/seed.py): N instances with one
open task each, even ones a committee task of one of the 39 communities, odd ones a street task of
its street. Then the latency of the first page (20 tasks, newest first) with its total count,
for a street office (street.rg: 6 communities, ~77,000 open tasks at 1M) and for a committee
(committee.rg01: ~12,800), measured
  - directly: `workflows.queries.inbox(session, actor)` in a fresh read session each time, and
  - over HTTP: GET /api/v1/tasks against gunicorn (one client, sequential requests).
--explain prints the query plans.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Gunicorn,
    Http,
    fresh_database,
    machine,
    prepare_database,
    sign_in,
    summary_ms,
)
from seed import add_filler, analyze, counts  # noqa: E402

USERS = ("street.rg", "committee.rg01")


def direct(url: str, rounds: int, explain: bool) -> dict[str, list[float]]:
    from sqlalchemy import select

    import handoff
    from workflows import queries
    from workflows.db import Database
    from workflows.models import User
    from workflows.service import Actor

    handoff.register()  # the engine is used outside the app factory: plugins first
    db = Database(url)
    out: dict[str, list[float]] = {}
    with db.read() as session:
        actors = {
            u: Actor.of(session.scalar(select(User).where(User.username == u))) for u in USERS
        }
    for user, actor in actors.items():
        if explain:
            show_plans(db, actor)
        times = []
        for i in range(rounds + 3):
            start = time.perf_counter()
            with db.read() as session:
                page = queries.inbox(session, actor)
                total, n = page.total, len(page.items)
            if i >= 3:
                times.append(time.perf_counter() - start)
        out[user] = times
        print(f"  direct {user:15s} total={total:7d} items={n:2d}  {summary_ms(times)}")
    db.dispose()
    return out


def show_plans(db, actor) -> None:
    from workflows import queries

    f = queries.InboxFilter()
    count_stmt = queries.inbox_count_statement(actor, f)
    page_stmt = queries.inbox_page_statement(actor, f, "created_at", "desc", 1, 20)
    with db.read() as session:
        dialect = session.bind.dialect
        for name, s in (("count", count_stmt), ("page", page_stmt)):
            sql = str(s.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN ANALYZE " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = session.connection().exec_driver_sql(prefix + sql).all()
            print(f"    plan of the {name} query for {actor.username}:")
            for row in rows:
                print("      " + " | ".join(str(c) for c in row))


def over_http(url: str, rounds: int, workers: int) -> dict[str, list[float]]:
    out = {}
    with Gunicorn(url, workers=workers) as g:
        for user in USERS:
            token = sign_in(g.port, user)
            http = Http(g.port)
            times = []
            for i in range(rounds + 3):
                start = time.perf_counter()
                status, body = http.call("GET", "/api/v1/tasks", token)
                if status != 200:
                    raise RuntimeError(f"GET /tasks as {user}: {status} {body}")
                if i >= 3:
                    times.append(time.perf_counter() - start)
            out[user] = times
            print(
                f"  HTTP   {user:15s} total={body['total']:7d} items={len(body['items']):2d}  "
                f"{summary_ms(times)}"
            )
        rss = ", ".join(f"{v:.0f}" for v in sorted(g.peak_rss_mb().values()))
        print(f"  peak RSS per gunicorn worker (MB): {rss}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--tasks", type=int, default=1_000_000, help="open filler tasks")
    ap.add_argument("--rounds", type=int, default=200, help="measured requests per user")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--explain", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    rounds = max(10, min(args.rounds, 5000))
    tasks = max(0, min(args.tasks, 5_000_000))

    print(f"machine: {machine()}")
    with fresh_database(args.db, "inbox", keep=args.keep) as url:
        prepare_database(url)
        seconds = add_filler(url, tasks)
        analyze(url)
        print(f"seeded {tasks:,} open tasks in {seconds:.0f} s: {counts(url)}")
        print(f"{args.db}: first inbox page (20, newest first) with total, {rounds} rounds")
        direct(url, rounds, args.explain)
        over_http(url, rounds, args.workers)


if __name__ == "__main__":
    main()
