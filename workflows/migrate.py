"""Run the Alembic migrations programmatically (used by `flask db upgrade` and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


# Alembic is imported when a migration runs, not with the app: it is ~10 MB of every web
# worker's memory that only `flask db upgrade` (and the tests) use.


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the schema; at head, also enter the calendar years a newer `chinesecalendar`
    package brings (so upgrading the package and migrating is all a December needs)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        import_calendar(url)


def import_calendar(url: str) -> list[int]:
    from sqlalchemy.orm import Session

    from . import calendar_admin
    from .db import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            return calendar_admin.import_library(session)
    finally:
        engine.dispose()
