"""Database engines and transactions for SQLite (embedded default) and PostgreSQL.

Every state change runs in one `Database.write()` transaction. On SQLite that transaction starts
with BEGIN IMMEDIATE so that two writers never both read a snapshot and then race to upgrade their
locks (SQLITE_BUSY_SNAPSHOT); on PostgreSQL the instance row is locked with SELECT ... FOR UPDATE
by the service instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


# The session of the transaction this context runs in, whichever Database opened it: code deep
# inside an engine step (the working-day calendar of an expression) reads through it.
_ambient: ContextVar[Session | None] = ContextVar("ambient-session", default=None)


def ambient_session() -> Session | None:
    """The session of the enclosing `read()` or `write()` block, if any."""
    return _ambient.get()


@contextmanager
def _as_ambient(session: Session) -> Iterator[Session]:
    token = _ambient.set(session)
    try:
        yield session
    finally:
        _ambient.reset(token)


def core(session: Session) -> Connection:
    """The session's connection, for a prebuilt statement that loads no ORM objects; after the
    session's autoflush, so that the statement sees what the transaction changed, as
    `session.execute` would. SQLAlchemy 2.1's ORM execute adds about 80 µs of CPU per statement
    (its compile state), and building the statement at each call about 120 µs more."""
    if session.autoflush:
        session.flush()
    return session.connection()


def default_url(sqlite_path: Path = Path("var") / "workflows.sqlite3") -> str:
    """DATABASE_URL, else a SQLite file (the service passes its own file name)."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{sqlite_path}"


def normalise_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _busy_timeout() -> float:
    """Seconds a SQLite statement waits for another process's write lock before it fails
    (`database is locked`: the request answers 503); DB_BUSY_TIMEOUT, default 30."""
    return float(os.environ.get("DB_BUSY_TIMEOUT", "30"))


def _prepare_sqlite(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(_busy_timeout() * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, immediate: bool = False, pool_size: int | None = None) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": _busy_timeout(), "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args)
        _prepare_sqlite(engine, immediate)
        return engine
    engine = create_engine(url, **_postgres_options(pool_size))
    event.listen(engine, "checkout", _refuse_broken)
    from . import write_behind  # it calls `core`, so it imports this module

    write_behind.install(engine)
    return engine


def _refuse_broken(dbapi_conn, _record, _proxy) -> None:
    """A pooled connection psycopg already knows is closed or broken (it saw the socket fail)
    is replaced at checkout, without a round trip: SQLAlchemy retries the checkout with a new
    connection when a checkout listener raises DisconnectionError."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        raise sa_exc.DisconnectionError("the pooled connection is closed")


def _postgres_options(pool_size: int | None) -> dict:
    """Pool sizing per process from the environment; DB_POOL=none hands pooling to pgbouncer.

    Behind pgbouncer in transaction mode, server-side prepared statements must be off
    (PGBOUNCER=1 sets psycopg's prepare_threshold to None).
    """
    connect_args: dict = {"connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "10"))}
    if os.environ.get("PGBOUNCER") == "1":
        connect_args["prepare_threshold"] = None
    if os.environ.get("DB_POOL") == "none":
        return {"poolclass": NullPool, "connect_args": connect_args}
    size = pool_size or int(os.environ.get("DB_POOL_SIZE", "5"))
    return {
        "pool_size": size,
        "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", str(size))),
        # No pre-ping (a round trip before every transaction): connections are recycled, a
        # closed one is replaced at checkout (`_refuse_broken`), and a request whose first
        # statement finds its connection dead is retried once (server.auth).
        "pool_pre_ping": False,
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
        "connect_args": connect_args,
    }


@contextmanager
def _committed() -> Iterator[None]:
    """Around a whole write transaction, its COMMIT included: a value a write behind
    (`write_behind`) could not store fails at the statement or COMMIT that carried it, and is
    the same clean error it would have been at its own statement (PostgreSQL's DataError: a
    value too long for its column). `service.flush_step` says the same for the step's own
    flush, naming the instance."""
    try:
        yield
    except sa_exc.DataError as exc:
        from .errors import column_overflow  # errors imports the models, which import this

        raise column_overflow(exc) from None


class Database:
    """The engines and session factories of one database.

    `write()` blocks nest: an inner block joins the outer transaction (and `read()` inside a
    write block reads through it), so a caller can wrap several service calls, or a service call
    and its idempotency record, into one atomic unit.
    """

    def __init__(self, url: str | None = None):
        self.url = normalise_url(url or default_url())
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = make_engine(self.url)
        # SQLite writers get their own engine whose transactions begin IMMEDIATE.
        self.write_engine = make_engine(self.url, immediate=True) if self.is_sqlite else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._current: ContextVar[Session | None] = ContextVar(f"write-{id(self)}", default=None)
        self._reading: ContextVar[Session | None] = ContextVar(f"read-{id(self)}", default=None)
        self._on_rollback: ContextVar[list[Callable[[], None]] | None] = ContextVar(
            f"on-rollback-{id(self)}", default=None
        )

    def read(self) -> AbstractContextManager[Session]:
        """A read transaction (or the enclosing one, when there is one)."""
        return self._read_block(shared=False)

    def shared_read(self) -> AbstractContextManager[Session]:
        """A read transaction that the `read()` blocks inside it join: one transaction for a
        whole read-only request (e.g. its token check and its query), not one per block.
        Only for code that does not write inside it (a `write()` inside runs apart, and the
        shared snapshot would not see it on SQLite)."""
        return self._read_block(shared=True)

    @contextmanager
    def _read_block(self, shared: bool) -> Iterator[Session]:
        outer = self._current.get() or self._reading.get()
        if outer is not None:
            yield outer
            return
        # Loaded objects stay readable after the block (expire_on_commit=False).
        with self._read() as session, _as_ambient(session):
            token = self._reading.set(session) if shared else None
            try:
                yield session
                if not (session.new or session.dirty or session.deleted):
                    # COMMIT, not ROLLBACK, ends a read: psycopg 3 forgets its prepared
                    # statements at every rollback (and sends DEALLOCATE ALL, a round trip)
                    session.commit()
            finally:
                if token is not None:
                    self._reading.reset(token)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls everything back on error."""
        outer = self._current.get()
        if outer is not None:
            yield outer
            return
        pending: list[Callable[[], None]] = []
        pending_token = self._on_rollback.set(pending)
        try:
            with _committed(), self._write() as session, session.begin():
                with _as_ambient(session):
                    token = self._current.set(session)
                    try:
                        yield session
                    finally:
                        self._current.reset(token)
        except BaseException:
            self._on_rollback.reset(pending_token)
            for callback in pending:
                try:
                    callback()
                except Exception:  # the original error is what the caller must see
                    log.exception("recording a failure after its rollback failed")
            raise
        self._on_rollback.reset(pending_token)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current write transaction has rolled back, outside it (at
        once when there is none; never when it commits).

        For what a failure must leave behind although its transaction is undone, e.g. an
        instance marked `error`: marking it inside the failing transaction would be rolled
        back with it, and marking it from another connection before the rollback would wait
        for the instance row that transaction holds locked."""
        pending = self._on_rollback.get()
        if pending is None:
            callback()
        else:
            pending.append(callback)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


# What SQLite says when it cannot serve a statement now, for a reason outside the statement:
# another process holds the write lock past the busy timeout, the file cannot be opened or read.
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "unable to open", "disk i/o")


def unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached or cannot serve now (down,
    restarting, connection lost, pool exhausted, locked), so the same request may succeed
    later; False for errors of the statement itself (a bug, a constraint)."""
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True  # a dead pooled connection; no free connection in the pool in time
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True  # the dialect recognised a disconnect
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        # SQLite's OperationalError also means "no such table" or a syntax error: a bug
        return any(words in str(exc.orig).lower() for words in _SQLITE_UNAVAILABLE)
    # PostgreSQL (psycopg): refused or lost connections (no SQLSTATE), shutdown and start-up,
    # exhausted resources, the transient conflicts of the server (deadlock, serialization, lock
    # or statement timeout); not class 54, a statement over a limit of the server's (it would
    # fail the same way again)
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return not sqlstate.startswith("54")
