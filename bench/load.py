"""Load driver: whole handoffs through the real HTTP API against gunicorn.

    python bench/load.py --db sqlite --workers 4 --clients 16 --seconds 30
    python bench/load.py --db postgresql --workers 4 --clients 16 --seconds 30

It creates a fresh database, runs `flask --app server db upgrade` and `flask --app server
seed-demo`, starts gunicorn with N workers on a free 127.0.0.1 port, signs in once per demo
account, and runs C client threads. Each client walks whole handoffs as the demo accounts would:

    POST /requests (one community)            -> start
    street_review   (street.xx)    approve     \
    sign_committee  (committee.xx) sign         |  each: GET /tasks?key=&request_id= (inbox)
    sign_department (dept.xx)      sign         |        POST /tasks/{id}/complete
    sign_street     (street.xx)    sign         |
    funding         (finance)      transfer     |  (--lookup opened: take the next task ids
    work            (committee.xx) report       |   from the completion's `opened` list and
    acceptance      (dept.xx)      accept       |   skip the inbox reads)
    evaluation      (street.xx)    score       /

It prints task completions/s, instance starts/s, latency p50/p95/p99 per kind of operation, the
machine's CPU use, the CPU time per request and per completion (gunicorn workers, PostgreSQL
backends, driver) and the peak RSS of each gunicorn worker. The first --warmup seconds are not
counted; the run stops after --seconds (at most 600) and every request has a 30 s timeout.
--threads N runs gunicorn's threaded workers; --profile serves bench/profiled_app.py and prints
where the workers' CPU went. Results and their conditions: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ROOT,
    Gunicorn,
    Http,
    fresh_database,
    load_average,
    machine,
    postgres_cpu_seconds,
    prepare_database,
    sign_in,
    summary_ms,
)

API = "/api/v1"
DEMO = ROOT / "handoff" / "demo_data"


def demo_accounts() -> dict:
    """Which demo account acts for which org unit."""
    users = json.loads((DEMO / "users.json").read_text(encoding="utf-8"))["users"]
    units = json.loads((DEMO / "org_units.json").read_text(encoding="utf-8"))["org_units"]
    by_unit = {}
    for user in users:
        for m in user["memberships"]:
            by_unit.setdefault((m["role"], m["org_unit"]), user["username"])
    parent = {u["code"]: u["parent"] for u in units}
    communities = [u["code"] for u in units if u["kind"] == "community"]
    departments = [u["code"] for u in units if u["kind"] == "department"]
    return {
        "communities": [
            (c, by_unit[("committee", c)], by_unit[("street_office", parent[c])])
            for c in communities
        ],
        "departments": [by_unit[("department", d)] for d in departments],
        "finance": next(u for (role, _), u in by_unit.items() if role == "finance"),
    }


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


class Stats:
    def __init__(self, measure_from: float, measure_to: float):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.lo, self.hi = measure_from, measure_to
        self.fallbacks = 0

    def add(self, kind: str, start: float, end: float) -> None:
        if self.lo <= start and end <= self.hi:
            with self.lock:
                self.samples[kind].append(end - start)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


class Stop(Exception):
    """The run is over for this client (deadline, or the service stopped answering)."""


class Abandon(Exception):
    """This handoff failed (an unexpected answer, counted as an error): start the next one."""


MAX_ABANDONED = 20  # a client that keeps failing stops rather than hammering


class Client(threading.Thread):
    def __init__(self, n, port, tokens, accounts, stats, deadline, lookup, sign_order):
        super().__init__(daemon=True)
        self.n, self.http, self.tokens = n, Http(port), tokens
        self.accounts, self.stats, self.deadline = accounts, stats, deadline
        self.lookup, self.sign_order = lookup, sign_order
        self.handoffs = 0
        # the service's today (Beijing): a transfer or report may be neither before the request
        # nor in the future
        self.today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    def call(self, kind, method, path, user, body=None, expect=200):
        if time.monotonic() >= self.deadline:
            raise Stop
        start = time.monotonic()
        try:
            status, out = self.http.call(method, API + path, self.tokens[user], body)
        except OSError as exc:
            self.stats.error(f"{kind}: {type(exc).__name__}")
            raise Stop from exc
        end = time.monotonic()
        if status != expect:
            self.stats.error(f"{kind}: HTTP {status}")
            return status, out
        self.stats.add(kind, start, end)
        return status, out

    def find(self, user, key, rid):
        _, body = self.call("inbox", "GET", f"/tasks?key={key}&request_id={rid}&per_page=5", user)
        items = body["items"] if isinstance(body, dict) else []
        if len(items) != 1:
            self.stats.error(f"inbox: {key} found {len(items)}")
            raise Abandon
        return items[0]["id"]

    def complete(self, user, key, task_id, data):
        status, body = self.call(
            "complete", "POST", f"/tasks/{task_id}/complete", user, {"data": data}
        )
        if status != 200:
            raise Abandon
        return body["opened"]

    def run(self) -> None:
        accts = self.accounts
        k = abandoned = 0
        try:
            while time.monotonic() < self.deadline and abandoned < MAX_ABANDONED:
                c_code, committee, street = accts["communities"][
                    (self.n + 16 * k) % len(accts["communities"])
                ]
                dept = accts["departments"][(self.n + k) % len(accts["departments"])]
                k += 1
                try:
                    self.one_handoff(c_code, committee, street, dept, accts["finance"])
                    self.handoffs += 1
                except Abandon:
                    abandoned += 1
        except Stop:
            pass

    def one_handoff(self, community, committee, street, dept, finance) -> None:
        status, body = self.call(
            "start",
            "POST",
            "/requests",
            dept,
            {
                "title": f"低保对象入户调查 负载 {self.n}",
                "item_code": "A01",
                "description": "对辖区低保对象开展入户调查",
                "community_codes": [community],
                "amount": "5000.00",
                "due_date": "2099-12-31",
            },
            expect=201,
        )
        if status != 201:
            raise Abandon
        rid = body["id"]
        steps = handoff_steps(street, committee, dept, finance, self.today)
        known: dict[str, int] = {}
        for key, user, data in steps:
            task_id = known.pop(key, None)
            if task_id is None:
                if self.lookup == "opened" and key != "street_review":
                    self.stats.fallbacks += 1
                task_id = self.find(user, key, rid)
            opened = self.complete(user, key, task_id, data)
            if self.lookup == "opened":
                self.learn(key, opened, known)

    def learn(self, key, opened, known) -> None:
        nxt = {
            "street_review": ["sign_committee"],
            "sign_street": ["funding"],  # the last signature opens the funding
            "funding": ["work"],
            "work": ["acceptance"],
            "acceptance": ["evaluation"],
        }
        if key == "sign_committee" and len(opened) == 2:
            known.update(zip(self.sign_order, opened, strict=True))
        elif key in nxt and len(opened) == 1:
            known[nxt[key][0]] = opened[0]


def handoff_steps(street, committee, dept, finance, today: str) -> list[tuple[str, str, dict]]:
    """A handoff's tasks in order: (task key, who completes it, the form data)."""
    return [
        ("street_review", street, {"decision": "approve"}),
        ("sign_committee", committee, {"decision": "sign"}),
        ("sign_department", dept, {"decision": "sign"}),
        ("sign_street", street, {"decision": "sign"}),
        ("funding", finance, {"amount": "5000.00", "voucher_no": "PZ-1", "transferred_on": today}),
        ("work", committee, {"report": "已完成入户调查", "completed_on": today}),
        ("acceptance", dept, {"decision": "accept"}),
        ("evaluation", street, {"score": 95, "comment": "按时完成"}),
    ]


def learn_sign_order(port, tokens, accts) -> list[str]:
    """The order in which the committee's signature lists the two signing tasks it opens (the
    BPMN's parallel-gateway order), learned once from the inboxes."""
    community, committee, street = accts["communities"][0]
    dept = accts["departments"][0]
    http = Http(port)
    _, body = http.call(
        "POST",
        API + "/requests",
        tokens[dept],
        {
            "title": "warm-up",
            "item_code": "A01",
            "community_codes": [community],
            "amount": "5000.00",
            "due_date": "2099-12-31",
        },
    )
    rid = body["id"]
    _, page = http.call("GET", API + f"/tasks?request_id={rid}", tokens[street])
    review = page["items"][0]["id"]
    http.call(
        "POST", API + f"/tasks/{review}/complete", tokens[street], {"data": {"decision": "approve"}}
    )
    _, page = http.call("GET", API + f"/tasks?request_id={rid}", tokens[committee])
    first = page["items"][0]["id"]
    _, done = http.call(
        "POST", API + f"/tasks/{first}/complete", tokens[committee], {"data": {"decision": "sign"}}
    )
    order = {}
    for user in (dept, street, committee):
        _, page = http.call("GET", API + f"/tasks?request_id={rid}", tokens[user])
        for t in page["items"]:
            order[t["id"]] = t["key"]
    return [order[i] for i in done["opened"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker (gthread if > 1)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    ap.add_argument("--seconds", type=float, default=30, help="measured duration (max 600)")
    ap.add_argument("--warmup", type=float, default=3, help="seconds not counted at the start")
    ap.add_argument(
        "--lookup",
        choices=["inbox", "opened"],
        default="inbox",
        help="find each task in the inbox (as a user would) or from the `opened` ids",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="profile the gunicorn workers (cProfile; slows them down) and print the hot spots",
    )
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for gunicorn")
    args = ap.parse_args()
    seconds = max(1.0, min(args.seconds, 600.0))
    clients = max(1, min(args.clients, 256))
    extra_env = dict(e.split("=", 1) for e in args.env)
    app = "server:create_app()"
    profile_dir = None
    if args.profile:
        profile_dir = tempfile.mkdtemp(prefix="bench_profile_")
        extra_env["BENCH_PROFILE_DIR"] = profile_dir
        app = "bench.profiled_app:app"

    accts = demo_accounts()
    with fresh_database(args.db, "load", keep=args.keep) as url:
        t0 = time.monotonic()
        prepare_database(url)
        print(f"database {args.db} migrated and seeded in {time.monotonic() - t0:.1f} s")
        with Gunicorn(
            url, workers=args.workers, threads=args.threads, extra_env=extra_env, app=app
        ) as g:
            users = {u for _, c, s in accts["communities"] for u in (c, s)}
            users |= set(accts["departments"]) | {accts["finance"]}
            tokens = {u: sign_in(g.port, u) for u in sorted(users)}  # once per account
            sign_order = learn_sign_order(g.port, tokens, accts)
            start = time.monotonic()
            lo, hi = start + args.warmup, start + args.warmup + seconds
            stats = Stats(lo, hi)
            threads = [
                Client(n, g.port, tokens, accts, stats, hi, args.lookup, sign_order)
                for n in range(clients)
            ]
            for t in threads:
                t.start()
            time.sleep(max(0.0, lo - time.monotonic()))
            cpu0, wall0, self0 = cpu_jiffies(), time.monotonic(), os.times()
            srv0, pg0, load0 = g.cpu_seconds(), postgres_cpu_seconds(url), load_average()
            for t in threads:
                t.join(timeout=max(1.0, hi - time.monotonic() + 35))
            wall = min(time.monotonic(), hi) - wall0
            cpu1, self1 = cpu_jiffies(), os.times()
            srv1, pg1 = g.cpu_seconds(), postgres_cpu_seconds(url)
            rss, rss_now = g.peak_rss_mb(), g.peak_rss_mb("VmRSS")
            alive = sum(t.is_alive() for t in threads)

    busy = (cpu1[0] - cpu0[0]) / max(1, cpu1[1] - cpu0[1])
    driver_cpu = (self1.user - self0.user) + (self1.system - self0.system)
    completions = sum(len(v) for k, v in stats.samples.items() if k == "complete")
    starts = len(stats.samples.get("start", []))
    print(f"machine: {machine()}")
    print(
        f"run: db={args.db} workers={args.workers} threads={args.threads} clients={clients} "
        f"lookup={args.lookup} measured={wall:.1f} s (after {args.warmup:g} s warm-up)"
    )
    print(f"task completions/s: {completions / wall:8.1f}   ({completions} completions)")
    print(f"instance starts/s:  {starts / wall:8.1f}   ({starts} starts)")
    requests_total = sum(len(v) for v in stats.samples.values())
    print(f"HTTP requests/s:    {requests_total / wall:8.1f}")
    for kind in ("start", "inbox", "complete"):
        if stats.samples.get(kind):
            print(f"  {kind:9s} {summary_ms(stats.samples[kind])}")
    print(
        f"machine CPU busy: {busy * 100:.0f}% of {os.cpu_count()} cores; "
        f"driver CPU: {driver_cpu / wall * 100:.0f}% of one core"
    )
    print(f"load average before the run: {load0} (other work on the machine counts too)")
    if requests_total:
        per = 1000 / requests_total
        print(
            f"CPU per HTTP request: gunicorn {(srv1 - srv0) * per:.1f} ms, "
            f"PostgreSQL {(pg1 - pg0) * per:.1f} ms, driver {driver_cpu * per:.1f} ms"
        )
    if completions:
        total_cpu = (srv1 - srv0) + (pg1 - pg0) + driver_cpu
        print(
            f"CPU per completion (its share of starts and inbox reads included): "
            f"{total_cpu / completions * 1000:.1f} ms -> at most "
            f"{completions / total_cpu * os.cpu_count():.0f} completions/s on "
            f"{os.cpu_count()} otherwise idle cores"
        )
    print(
        "RSS per gunicorn worker at the end (MB): "
        + ", ".join(f"{v:.0f}" for v in sorted(rss_now.values()))
        + "; peak, a sign-in's 64 MiB Argon2id hash included: "
        + ", ".join(f"{v:.0f}" for v in sorted(rss.values()))
    )
    if stats.errors:
        print("errors:", dict(stats.errors))
    if args.lookup == "opened":
        print(f"inbox look-ups besides the first review: {stats.fallbacks}")
    if alive:
        print(f"warning: {alive} client thread(s) still running at exit")
    if profile_dir:
        print_profile(profile_dir)


def print_profile(directory: str, top: int = 45) -> None:
    """Merge the workers' cProfile statistics; print the time per package and the hot spots."""
    import pstats

    files = sorted(Path(directory).glob("worker-*.prof"))
    if not files:
        print("no profile was written")
        return
    stats = pstats.Stats(*[str(f) for f in files])
    by_package: Counter = Counter()
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_package[_package(filename)] += tottime
    total = sum(by_package.values())
    print(f"server CPU by package (cProfile self time, {len(files)} workers):")
    for name, seconds in by_package.most_common(12):
        print(f"  {seconds / total * 100:5.1f}%  {name}")
    stats.sort_stats("cumulative").print_stats(top)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if str(ROOT) in filename:
        return filename.split(str(ROOT) + "/", 1)[1]
    if filename.startswith("<") or "/lib/python3" not in filename:
        return filename if filename.startswith("<") else "other"
    return "stdlib:" + filename.rsplit("/", 1)[1]


if __name__ == "__main__":
    main()
