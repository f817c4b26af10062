"""Alembic environment: migrates the database named by DATABASE_URL (default: embedded SQLite)."""

from alembic import context

from handoff import models as handoff_models  # noqa: F401  (the handoff's tables, likewise)
from handoff import resident_models  # noqa: F401  (居民评议 and the score's weights)
from notifications import models as notification_models  # noqa: F401  (the outbox's tables)
from server.config import DEFAULT_SQLITE_PATH
from workflows import heartbeat, models  # noqa: F401  (registers the tables on Base.metadata)
from workflows.db import Base, default_url, make_engine, normalise_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return normalise_url(config.attributes.get("url") or default_url(DEFAULT_SQLITE_PATH))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # batch mode copies tables that others point at: SQLite checks foreign keys only
            # when told to, and the pragma is ignored inside a transaction, so it is set on the
            # driver's connection before Alembic's BEGIN (and checked after, below)
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            raw = connection.connection.driver_connection
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            raw.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"the migration left dangling foreign keys: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
