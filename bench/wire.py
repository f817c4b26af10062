"""What an app's database engines send, counted on the wire where there is one.

On PostgreSQL every pooled connection is traced by libpq itself (`PQtrace`: each protocol
message sent, F, and received, B). A round trip is one wait for the server: each Sync the
client sends (one statement, or a whole pipeline of them) and each simple Query (psycopg's own
BEGIN, for one), however many statements it carries. So the count does not depend on what the
project's own code believes it sends. psycopg prepares a statement on a connection when it
runs for the fifth time, in a round trip of its own; those are counted apart, as `prepares`:
once per connection and statement, they are not a cost of the request they fall in.

On SQLite there is no wire: the count is the statements, BEGIN, COMMIT and ROLLBACK, taken from
SQLAlchemy's events.

    wire = Wire(db)            # db: workflows.db.Database
    ...one request...
    cost = wire.take()         # {"round_trips": n, "statements": n, "prepares": n}
    wire.last                  # that request's round trips, each a list of its statements
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict

from sqlalchemy import event

IGNORE = ("FROM calendar_",)  # the working-day calendar's cache refill (every 30 s)


class Wire:
    def __init__(self, db, ignore: tuple[str, ...] = IGNORE) -> None:
        self.ignore = ignore
        self.sqlite = db.is_sqlite
        self.counts: dict[str, int] = defaultdict(int)
        self.sqlite_trips: list[list[str]] = []
        self.traced: dict[int, _Traced] = {}  # id(psycopg connection) -> its trace
        self.last: list[list[str]] = []
        for engine in {id(e): e for e in (db.engine, db.write_engine)}.values():
            if self.sqlite:
                event.listen(engine, "before_cursor_execute", self._sqlite_statement)
                for name in ("begin", "commit", "rollback"):
                    event.listen(engine, name, self._sqlite_command(name))
            else:
                event.listen(engine, "checkout", self._checkout)
                event.listen(engine, "before_cursor_execute", self._pg_statement)

    # --- SQLite: the statements -------------------------------------------------------------

    def _sqlite_statement(self, _conn, _cursor, statement, *_args) -> None:
        if statement.startswith("BEGIN"):
            return  # counted by `begin`
        if any(word in statement for word in self.ignore):
            return
        text = " ".join(statement.split())
        if self.sqlite_trips and self.sqlite_trips[-1] == [text]:
            return  # SQLite inserts rows RETURNING one by one; PostgreSQL sends them as one
        self.counts["statements"] += 1
        self.sqlite_trips.append([text])

    def _sqlite_command(self, name: str):
        def counted(_conn) -> None:
            self.counts[name] += 1
            self.sqlite_trips.append([name.upper()])

        return counted

    # --- PostgreSQL: libpq's trace ----------------------------------------------------------

    def _checkout(self, dbapi_conn, _record, _proxy) -> None:
        if id(dbapi_conn) not in self.traced:
            self.traced[id(dbapi_conn)] = _Traced(dbapi_conn)

    def _pg_statement(self, *_args) -> None:
        self.counts["statements"] += 1  # deferred ones included: they are sent later

    def take(self) -> dict[str, int]:
        out = dict(self.counts)
        self.counts.clear()
        if self.sqlite:
            trips, self.sqlite_trips = self.sqlite_trips, []
        else:
            trips = [t for traced in self.traced.values() for t in traced.take()]
            trips = [t for t in trips if not all(any(w in s for w in self.ignore) for s in t)]
            out["prepares"] = sum(traced.prepares for traced in self.traced.values())
            for traced in self.traced.values():
                traced.prepares = 0
        self.last = trips
        out["round_trips"] = len(trips)
        out.setdefault("statements", 0)
        return out


class _Traced:
    """One psycopg connection's libpq trace, in a file of its own."""

    def __init__(self, conn) -> None:
        from psycopg import pq

        self.conn = conn
        self.file = tempfile.TemporaryFile()
        self.read_to = 0
        self.names: dict[str, str] = {}  # prepared statement name -> its text
        self.prepares = 0  # round trips that prepared a statement, apart: once per connection
        self.flags = pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        self._start()

    def _start(self) -> None:
        self.conn.pgconn.trace(self.file.fileno())
        self.conn.pgconn.set_trace_flags(self.flags)

    def take(self) -> list[list[str]]:
        """The round trips since the last take, each the statements it sent."""
        if self.conn.closed:
            return []
        self.conn.pgconn.untrace()  # flushes libpq's buffered trace
        size = os.fstat(self.file.fileno()).st_size
        text = os.pread(self.file.fileno(), size - self.read_to, self.read_to).decode()
        self.read_to = size
        self._start()
        return self._trips(text)

    def _trips(self, text: str) -> list[list[str]]:
        """A round trip ends where the client waits: at a Sync (extended protocol: one
        statement, or a whole pipeline) or a Query (simple protocol, e.g. psycopg's own BEGIN).
        Counting the runs of messages sent would be wrong: libpq reads a long pipeline's first
        answers while it is still sending."""
        trips: list[list[str]] = []
        current: list[str] = []
        prepared = ""
        for way, kind, rest in _messages(text):
            if way != "F":
                continue
            if kind == "Query":
                trips.append([*current, rest.strip('"')])
                current = []
            elif kind == "Parse":
                name, _, sql = rest.partition(" ")
                self.names[name] = sql = sql.rsplit('"', 1)[0].lstrip('"')
                prepared = sql if name != '""' else ""
            elif kind == "Bind":
                name = rest.split(" ")[1]  # the portal's name, then the statement's
                current.append(self.names.get(name, "?"))
            elif kind == "Sync":
                if not current and prepared:
                    self.prepares += 1  # psycopg prepares a statement run for the 5th time
                else:
                    trips.append(current or ["SYNC"])
                current, prepared = [], ""
        return trips


_START = re.compile(r"^([FB])\t\d+\t(\w+)\t?(.*)$")


def _messages(text: str):
    """(F or B, message type, its text) of each message; a statement's text may span lines."""
    current: list | None = None
    for line in text.splitlines():
        m = _START.match(line)
        if m:
            if current is not None:
                yield current[0], current[1], current[2].strip()
            current = [m.group(1), m.group(2), m.group(3)]
        elif current is not None:
            current[2] += "\n" + line
    if current is not None:
        yield current[0], current[1], current[2].strip()
