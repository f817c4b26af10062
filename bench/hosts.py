"""Throughput with 1 vs 2 app hosts over one PostgreSQL (docs/DEPLOY.md).

Starts gunicorn on 127.0.0.2 (and 127.0.0.3), fills the street offices' inboxes with reviews,
then N client threads approve reviews through the hosts round-robin for a fixed time and the
script prints completions per second and latency percentiles. Bounded in time; loopback only.

    python -m bench.hosts --hosts 1 --workers 4 --clients 16 --seconds 20
    python -m bench.hosts --hosts 2 --workers 2 --clients 16 --seconds 20
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time

import requests

from bench.common import fresh_database, load_average, machine
from tests.live import Client, LiveServer, prepare_database

STREETS = ["hm", "mr", "cq", "rg", "td", "xh", "xl"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, choices=[1, 2], default=1)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--requests", type=int, default=30, help="requests to all 39 communities")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with fresh_database("postgresql", "hosts") as url:  # dropped afterwards
        prepare_database(url)
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    hosts = [
        LiveServer(url, workers=args.workers, host=f"127.0.0.{2 + i}").start()
        for i in range(args.hosts)
    ]
    try:
        dept = Client(hosts[0].base, "dept.mz")
        communities = [
            u["code"]
            for u in dept.get("/org-units", params={"kind": "community", "per_page": 100}).json()[
                "items"
            ]
        ]
        for n in range(args.requests):
            dept.post(
                "/requests",
                {
                    "title": f"吞吐 {n}",
                    "item_code": "A01",
                    "amount": "100.00",
                    "due_date": "2099-12-31",
                    "community_codes": communities,
                },
            )
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds
        host_cycle = itertools.cycle([h.base for h in hosts])

        def client(i: int) -> None:
            nonlocal errors
            street = STREETS[i % len(STREETS)]
            me = Client(next(host_cycle), f"street.{street}")
            while time.monotonic() < deadline:
                tasks = me.inbox(key="street_review", per_page=20)
                if not tasks:
                    return
                for task in tasks[i % 3 :: 3]:
                    if time.monotonic() >= deadline:
                        return
                    t0 = time.perf_counter()
                    try:
                        r = me.complete(task["id"], {"decision": "approve"})
                    except requests.RequestException:
                        r = None
                    elapsed = time.perf_counter() - t0
                    with lock:
                        if r is not None and r.status_code == 200:
                            latencies.append(elapsed)
                        elif r is None or r.status_code != 409:
                            errors += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
        print(
            f"load average after the run: {load_average()} (other work on the machine counts too)"
        )
        print(
            f"hosts={args.hosts} workers/host={args.workers} clients={args.clients} "
            f"completions={len(latencies)} in {took:.1f}s -> {len(latencies) / took:.1f}/s; "
            f"p50={percentile(latencies, 50) * 1000:.0f}ms "
            f"p95={percentile(latencies, 95) * 1000:.0f}ms "
            f"p99={percentile(latencies, 99) * 1000:.0f}ms errors={errors}"
        )
    finally:
        for host in hosts:
            host.stop()


if __name__ == "__main__":
    main()
