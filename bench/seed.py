"""Bulk filler for the benchmarks: many handoff instances, each with one open task, spread over
the 39 demo communities (committee tasks) and their 7 streets (street tasks), fast.

PostgreSQL: INSERT ... SELECT FROM generate_series. SQLite: INSERT ... SELECT over a recursive
CTE. The rows are minimal but valid: per instance a one-community `handoff_request` (number
`FILL-<id>`, the instance's business key), a `process_instance` (running, empty engine state,
routing scope), its `handoff_instance` link (request, community), two `instance_party` rows
(committee, street_office), one open `task` and one `instance.started` audit event, both
carrying the business key. Filler instances have no timer, so the timer worker never picks them.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from workflows import definitions
from workflows.db import normalise_url

CHUNK = 200_000
# (role, task key, task name): even filler ids get a committee task, odd ones a street task
TASKS = {
    0: ("committee", "work", "办理事项"),
    1: ("street_office", "street_review", "街道审核"),
}


def engine_for(url: str) -> Engine:
    return create_engine(normalise_url(url))


def _units(conn) -> tuple[int, int, list[tuple[int, int, int]]]:
    """The handoff version in force, the department the filler requests come from, and the
    (k, community, street) units the instances are spread over."""
    with Session(bind=conn) as session:
        definition = definitions.in_force(session, "handoff")
    if definition is None:
        raise RuntimeError("the handoff process is not deployed (seed-demo first)")
    department_id = conn.execute(
        text("SELECT id FROM org_unit WHERE kind = 'department' ORDER BY code LIMIT 1")
    ).scalar_one()
    rows = conn.execute(
        text(
            "SELECT c.id, c.parent_id FROM org_unit c JOIN org_unit s ON s.id = c.parent_id "
            "WHERE c.kind = 'community' AND s.kind = 'street' ORDER BY c.code"
        )
    ).all()
    return definition.id, department_id, [(k, cid, sid) for k, (cid, sid) in enumerate(rows)]


def add_filler(url: str, n: int, *, communities: int | None = None, quiet: bool = False) -> float:
    """Add `n` filler instances with one open task each; returns the seconds it took."""
    eng = engine_for(url)
    pg = eng.dialect.name == "postgresql"
    started = time.monotonic()
    with eng.begin() as conn:
        definition_id, department_id, units = _units(conn)
        if communities:
            units = units[:communities]
        base = conn.execute(text("SELECT coalesce(max(id), 0) FROM process_instance")).scalar()
        # instance x gets request x + offset: both id ranges start past the existing rows
        offset = (
            conn.execute(text("SELECT coalesce(max(id), 0) FROM handoff_request")).scalar() - base
        )
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        lo, hi = base + done + 1, base + done + size
        with eng.begin() as conn:
            _chunk(conn, pg, definition_id, department_id, offset, units, lo, hi)
        done += size
        if not quiet:
            print(f"  filler: {done:,}/{n:,} instances ({time.monotonic() - started:.0f} s)")
    eng.dispose()
    return time.monotonic() - started


def _chunk(
    conn, pg: bool, definition_id: int, department_id: int, offset: int, units, lo: int, hi: int
) -> None:
    conn.execute(text("DROP TABLE IF EXISTS bench_unit"))
    conn.execute(
        text("CREATE TEMP TABLE bench_unit (k integer, community_id integer, street_id integer)")
    )
    conn.execute(
        text("INSERT INTO bench_unit VALUES (:k, :c, :s)"),
        [{"k": k, "c": c, "s": s} for k, c, s in units],
    )
    params = {
        "lo": lo,
        "hi": hi,
        "d": definition_id,
        "m": len(units),
        "dept": department_id,
        "off": offset,
    }
    if pg:
        series = "generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g(x)"
        ts = "now() - g.x * interval '20 seconds'"
        empty, scope = (
            "'{}'::json",
            "json_build_object('committee', u.community_id, 'street_office', u.street_id)",
        )
        uuid = "md5('bench-' || g.x)::uuid::text"
        prefix = ""
    else:
        series = "g"
        ts = "strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (g.x * 20) || ' seconds') || '.000000'"
        empty = "'{}'"
        scope = "json_object('committee', u.community_id, 'street_office', u.street_id)"
        uuid = "printf('%08x-bbbb-4bbb-8bbb-%012x', g.x, g.x)"
        prefix = "WITH RECURSIVE g(x) AS (SELECT :lo UNION ALL SELECT x + 1 FROM g WHERE x < :hi) "
    number = "'FILL-' || g.x"
    conn.execute(
        text(
            f"{prefix}INSERT INTO handoff_request (id, number, department_id, item_name, "
            "item_category, title, description, legal_basis, amount_fen, created_at) "
            f"SELECT g.x + :off, {number}, :dept, '', 'unlisted', '负载填充 ' || g.x, '', '', "
            f"10000, {ts} FROM {series}"
        ),
        params,
    )
    conn.execute(
        text(
            f"{prefix}INSERT INTO process_instance (id, definition_id, business_key, status, "
            "title, scope, state, lock_version, created_at, updated_at) "
            f"SELECT g.x, :d, {number}, 'running', '负载填充 ' || g.x, {scope}, {empty}, 0, "
            f"{ts}, {ts} FROM {series} JOIN bench_unit u ON u.k = g.x % :m"
        ),
        params,
    )
    conn.execute(
        text(
            f"{prefix}INSERT INTO handoff_instance (instance_id, request_id, community_id) "
            f"SELECT g.x, g.x + :off, u.community_id FROM {series} "
            "JOIN bench_unit u ON u.k = g.x % :m"
        ),
        params,
    )
    for role, unit in (("committee", "u.community_id"), ("street_office", "u.street_id")):
        conn.execute(
            text(
                f"{prefix}INSERT INTO instance_party (instance_id, role, org_unit_id) "
                f"SELECT g.x, :role, {unit} FROM {series} JOIN bench_unit u ON u.k = g.x % :m"
            ),
            {**params, "role": role},
        )
    for parity, (role, key, name) in TASKS.items():
        unit = "u.community_id" if role == "committee" else "u.street_id"
        conn.execute(
            text(
                f"{prefix}INSERT INTO task (spiff_id, instance_id, business_key, process_key, key, "
                "name, title, role, org_unit_id, status, created_at) "
                f"SELECT {uuid}, g.x, {number}, 'handoff', :key, :name, '负载填充 ' || g.x, :role, "
                f"{unit}, 'open', {ts} FROM {series} JOIN bench_unit u ON u.k = g.x % :m "
                "WHERE g.x % 2 = :parity"
            ),
            {**params, "key": key, "name": name, "role": role, "parity": parity},
        )
    conn.execute(
        text(
            f"{prefix}INSERT INTO audit_event (at, action, instance_id, business_key, detail) "
            f"SELECT {ts}, 'instance.started', g.x, {number}, {empty} FROM {series}"
        ),
        params,
    )
    conn.execute(text("DROP TABLE bench_unit"))
    if pg:  # the ids above were given explicitly: move the sequences past them
        for table in ("process_instance", "handoff_request"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def analyze(url: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map that index-only scans
    need) after a bulk load, as autovacuum would eventually do."""
    eng = engine_for(url)
    if eng.dialect.name == "postgresql":
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with eng.begin() as conn:
            conn.execute(text("ANALYZE"))
    eng.dispose()


def counts(url: str) -> dict[str, int]:
    eng = engine_for(url)
    out = {}
    with eng.connect() as conn:
        for table in (
            "process_instance",
            "handoff_instance",
            "handoff_request",
            "task",
            "instance_party",
            "audit_event",
        ):
            out[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    eng.dispose()
    return out
