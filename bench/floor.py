"""The floor of this stack, piece by piece, measured in the benchmark's own process.

- `empty_view`: one request to an empty Flask view through the same test client (the WSGI and
  Flask cost every request pays, before any of the service's code);
- `engine_step`: the SpiffWorkflow step of a completion with the project's state JSON: load the
  stored state, set the task's data, run it, advance the workflow, dump the new state
  (`workflows.engine`, the same calls the service makes), averaged over the 8 tasks of a handoff
  as the benchmark captured them;
- `writes`: the rows one completion must write, as plain DBAPI statements on the same driver
  (BEGIN; lock the instance; update the task; store the new state; insert the opened task and
  two audit events; COMMIT), into scratch tables of the same shape; client CPU and, on
  PostgreSQL, the backend's CPU;
- `read`: an inbox page as one plain indexed SELECT of five rows with its count.

A cycle's floor is what one completion with its inbox read needs at least: two empty requests
(the completion and the inbox read), the step, the writes and the read. A start's own cost is
left out of the floor (its eighth is in the code's cycle), so the ratio errs against the code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from common import postgres_cpu_seconds

ROUNDS = 200


@dataclass
class Sample:
    """One completion as the benchmark captured it: the state before, the task, its data."""

    definition_id: int
    state: dict
    spiff_id: str
    key: str
    data: dict


@dataclass
class Pieces:
    empty_view: float = 0.0  # ms of CPU, in-process
    engine_step: float = 0.0
    writes_client: float = 0.0
    writes_backend: float = 0.0
    read_client: float = 0.0
    read_backend: float = 0.0
    extra: dict = field(default_factory=dict)


def _cpu_ms(fn, rounds: int = ROUNDS) -> float:
    fn()  # warm
    start = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - start) * 1000 / rounds


def empty_view_ms() -> float:
    from flask import Flask

    app = Flask("floor")
    app.add_url_rule("/", "empty", lambda: {"ok": True})
    client = app.test_client()
    return _cpu_ms(lambda: client.get("/"), 2000)


def engine_step_ms(db, samples: list[Sample]) -> float:
    from workflows import definitions, engine

    def one(sample: Sample, parsed) -> None:
        workflow = engine.load(parsed, sample.state)
        task = engine.spiff_task(workflow, sample.spiff_id)
        task.data[sample.key] = sample.data
        task.run()
        engine.advance(workflow)
        engine.dump(workflow)

    parsed = {}
    for s in samples:
        if s.definition_id not in parsed:
            with db.read() as session:
                parsed[s.definition_id] = definitions.loaded_by_id(session, s.definition_id)
    with db.read():  # the ambient session a working-day expression reads the calendar through
        per = [_cpu_ms(lambda s=s: one(s, parsed[s.definition_id]), 40) for s in samples]
    return sum(per) / len(per)


SCRATCH = {
    "postgresql": [
        "CREATE TABLE floor_instance (id serial PRIMARY KEY, state jsonb, version int, "
        "updated_at timestamptz)",
        "CREATE TABLE floor_task (id serial PRIMARY KEY, instance_id int, status text, "
        "key text, org_unit_id int, data jsonb, completed_at timestamptz)",
        "CREATE INDEX ON floor_task (status, org_unit_id, id)",
        "CREATE TABLE floor_audit (id serial PRIMARY KEY, instance_id int, action text, "
        "detail jsonb, at timestamptz)",
    ],
    "sqlite": [
        "CREATE TABLE floor_instance (id INTEGER PRIMARY KEY, state JSON, version INT, "
        "updated_at TEXT)",
        "CREATE TABLE floor_task (id INTEGER PRIMARY KEY, instance_id INT, status TEXT, "
        "key TEXT, org_unit_id INT, data JSON, completed_at TEXT)",
        "CREATE INDEX floor_task_inbox ON floor_task (status, org_unit_id, id)",
        "CREATE TABLE floor_audit (id INTEGER PRIMARY KEY, instance_id INT, action TEXT, "
        "detail JSON, at TEXT)",
    ],
}


def _writes(conn, kind: str, state: str, rounds: int) -> None:
    """`rounds` completions' row writes, each its own transaction."""
    p = "%s" if kind == "postgresql" else "?"
    lock = " FOR UPDATE" if kind == "postgresql" else ""
    ret = " RETURNING id"
    cur = conn.cursor()
    for i in range(rounds):
        inst = 1 + i % 50
        if kind == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(f"SELECT id, version FROM floor_instance WHERE id = {p}{lock}", (inst,))
        cur.fetchone()
        cur.execute(f"SELECT id, status FROM floor_task WHERE id = {p}", (inst,))
        cur.fetchone()
        cur.execute(
            f"UPDATE floor_task SET status = 'completed', data = {p}, completed_at = {p} "
            f"WHERE id = {p}",
            ('{"decision": "sign"}', "2026-12-01T00:00:00Z", inst),
        )
        cur.execute(
            f"UPDATE floor_instance SET state = {p}, version = version + 1, updated_at = {p} "
            f"WHERE id = {p}",
            (state, "2026-12-01T00:00:00Z", inst),
        )
        cur.execute(
            f"INSERT INTO floor_task (instance_id, status, key, org_unit_id) "
            f"VALUES ({p}, 'open', 'next', {p}){ret}",
            (inst, inst),
        )
        cur.fetchone()
        cur.execute(
            f"INSERT INTO floor_audit (instance_id, action, detail, at) VALUES "
            f"({p}, 'task.completed', {p}, {p}), ({p}, 'task.created', {p}, {p})",
            (inst, "{}", "2026-12-01T00:00:00Z", inst, "{}", "2026-12-01T00:00:00Z"),
        )
        conn.commit()


def _reads(conn, kind: str, rounds: int) -> None:
    p = "%s" if kind == "postgresql" else "?"
    cur = conn.cursor()
    for i in range(rounds):
        unit = i % 50
        cur.execute(
            f"SELECT (SELECT count(*) FROM floor_task WHERE status = 'open' AND org_unit_id = {p})"
            f", t.id, t.key FROM floor_task t WHERE t.status = 'open' AND t.org_unit_id = {p} "
            "ORDER BY t.id DESC LIMIT 5",
            (unit, unit),
        )
        cur.fetchall()
        conn.rollback()


def database_ms(db, state: dict) -> tuple[float, float, float, float]:
    """(writes client, writes backend, read client, read backend) in ms of CPU per operation."""
    kind = "sqlite" if db.is_sqlite else "postgresql"
    raw = db.write_engine.raw_connection()
    conn = raw.driver_connection
    try:
        cur = conn.cursor()
        for ddl in SCRATCH[kind]:
            cur.execute(ddl)
        p = "%s" if kind == "postgresql" else "?"
        text = json.dumps(state)
        for i in range(50):
            cur.execute(f"INSERT INTO floor_instance (state, version) VALUES ({p}, 0)", (text,))
            cur.execute(
                f"INSERT INTO floor_task (instance_id, status, key, org_unit_id) "
                f"VALUES ({p}, 'open', 'k', {p})",
                (i + 1, i),
            )
        conn.commit()
        url = db.url

        def timed(fn) -> tuple[float, float]:
            fn(3)
            backend = postgres_cpu_seconds(url) if kind == "postgresql" else 0.0
            start = time.process_time()
            fn(ROUNDS)
            client = (time.process_time() - start) * 1000 / ROUNDS
            if kind == "postgresql":
                backend = (postgres_cpu_seconds(url) - backend) * 1000 / ROUNDS
            return client, backend

        writes = timed(lambda n: _writes(conn, kind, text, n))
        reads = timed(lambda n: _reads(conn, kind, n))
        for table in ("floor_audit", "floor_task", "floor_instance"):
            cur.execute(f"DROP TABLE {table}")
        conn.commit()
    finally:
        raw.close()
    return (*writes, *reads)


def measure(db, samples: list[Sample]) -> Pieces:
    pieces = Pieces(empty_view=empty_view_ms(), engine_step=engine_step_ms(db, samples))
    biggest = max(samples, key=lambda s: len(json.dumps(s.state))).state
    (
        pieces.writes_client,
        pieces.writes_backend,
        pieces.read_client,
        pieces.read_backend,
    ) = database_ms(db, biggest)
    pieces.extra["state_bytes"] = len(json.dumps(biggest))
    return pieces


def cycle(p: Pieces, backend: bool = True) -> float:
    """The floor of one completion with its inbox read, in ms of CPU."""
    total = 2 * p.empty_view + p.engine_step + p.writes_client + p.read_client
    if backend:
        total += p.writes_backend + p.read_backend
    return total


def print_pieces(p: Pieces) -> None:
    print(
        "floor pieces (ms CPU): "
        f"empty Flask view {p.empty_view:.3f}, engine step {p.engine_step:.3f}, "
        f"plain writes {p.writes_client:.3f} client + {p.writes_backend:.3f} backend "
        f"({p.extra.get('state_bytes', 0)} B state), "
        f"plain inbox read {p.read_client:.3f} + {p.read_backend:.3f}; "
        f"cycle floor {cycle(p):.2f} ms"
    )
