"""Fan-out benchmark: one request to all 39 demo communities, and to 1,000 communities.

    python bench/fanout.py --db postgresql
    python bench/fanout.py --db sqlite --rounds 10

Fresh database, `db upgrade` + `seed-demo`, 1,000 extra community org units spread over the 7
demo streets, then gunicorn; as dept.mz, POST /api/v1/requests naming all 39 demo communities
(--rounds times), then 1,000 extra communities (--big-rounds times). One request is one
transaction that starts one handoff per community and runs each to its first wait (the street
review). It prints the latency of the whole request; --profile also runs the 39-community
request in-process under pyinstrument and prints where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Gunicorn,
    Http,
    fresh_database,
    load_average,
    machine,
    percentile,
    prepare_database,
    sign_in,
)

EXTRA = 1000


def add_communities(url: str, n: int) -> None:
    from sqlalchemy import create_engine, text

    from workflows.db import normalise_url

    eng = create_engine(normalise_url(url))
    with eng.begin() as conn:
        streets = conn.execute(
            text("SELECT id, code FROM org_unit WHERE kind = 'street' ORDER BY code")
        ).all()
        conn.execute(
            text(
                "INSERT INTO org_unit (code, name, kind, parent_id) "
                "VALUES (:code, :name, 'community', :parent)"
            ),
            [
                {
                    "code": f"{streets[i % len(streets)][1]}-Z{i:04d}",
                    "name": f"测试社区{i:04d}",
                    "parent": streets[i % len(streets)][0],
                }
                for i in range(n)
            ],
        )
    eng.dispose()


def codes(url: str) -> tuple[list[str], list[str]]:
    from sqlalchemy import create_engine, text

    from workflows.db import normalise_url

    eng = create_engine(normalise_url(url))
    with eng.connect() as conn:
        rows = conn.execute(
            text("SELECT code FROM org_unit WHERE kind = 'community' ORDER BY code")
        ).scalars()
        all_codes = list(rows)
    eng.dispose()
    demo = [c for c in all_codes if "-Z" not in c]
    extra = [c for c in all_codes if "-Z" in c]
    return demo, extra


def body(communities: list[str], n: int) -> dict:
    return {
        "title": f"全区入户调查 {n}",
        "item_code": "A01",
        "description": "面向全部社区的协助事项",
        "community_codes": communities,
        "amount": "5000.00",
        "due_date": "2099-12-31",
    }


def over_http(url: str, demo: list[str], extra: list[str], rounds: int, big_rounds: int) -> None:
    with Gunicorn(url, workers=2) as g:
        token = sign_in(g.port, "dept.mz")
        http = Http(g.port, timeout=300)
        for label, communities, n in (
            (f"{len(demo)} communities", demo, rounds),
            (f"{len(extra)} communities", extra, big_rounds),
        ):
            times, cpus = [], []
            for i in range(n):
                cpu0, start = g.cpu_seconds(), time.perf_counter()
                status, out = http.call("POST", "/api/v1/requests", token, body(communities, i))
                times.append(time.perf_counter() - start)
                cpus.append(g.cpu_seconds() - cpu0)
                if status != 201 or len(out["instances"]) != len(communities):
                    raise RuntimeError(f"POST /requests: {status} {str(out)[:300]}")
            print(
                f"  HTTP POST /requests to {label:16s} n={n:3d}  "
                f"p50={statistics.median(times) * 1000:7.0f} ms  "
                f"p95={percentile(times, 95) * 1000:7.0f} ms  "
                f"max={max(times) * 1000:7.0f} ms  "
                f"({statistics.median(times) / len(communities) * 1000:.1f} ms per community); "
                f"server CPU p50={statistics.median(cpus) * 1000:.0f} ms"
            )
        print(f"  load average: {load_average()} (other work on the machine counts too)")
        rss = ", ".join(f"{v:.0f}" for v in sorted(g.peak_rss_mb().values()))
        print(f"  peak RSS per gunicorn worker (MB): {rss}")


def profile_in_process(url: str, demo: list[str]) -> None:
    from pyinstrument import Profiler
    from sqlalchemy import select

    import handoff
    from handoff import requests
    from workflows import service
    from workflows.db import Database
    from workflows.models import User

    handoff.register()  # the handoff's hooks and form rules, as the app factory does
    db = Database(url)
    with db.read() as session:
        actor = service.Actor.of(session.scalar(select(User).where(User.username == "dept.mz")))

    def once(i):
        requests.create_request(db, actor, requests.RequestInput(**body(demo, 1000 + i)))

    once(0)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(5):
        once(i + 1)
    profiler.stop()
    print(profiler.output_text(unicode=False, show_all=False))
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--rounds", type=int, default=20, help="requests to the 39 communities")
    ap.add_argument("--big-rounds", type=int, default=3, help="requests to 1,000 communities")
    ap.add_argument("--profile", action="store_true", help="pyinstrument, in-process")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    print(f"machine: {machine()}")
    with fresh_database(args.db, "fanout", keep=args.keep) as url:
        prepare_database(url)
        add_communities(url, EXTRA)
        demo, extra = codes(url)
        print(f"{args.db}: one request fanned out to every community named")
        over_http(url, demo, extra, max(1, min(args.rounds, 200)), max(1, min(args.big_rounds, 20)))
        if args.profile:
            profile_in_process(url, demo)


if __name__ == "__main__":
    main()
