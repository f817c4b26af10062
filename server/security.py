"""Start-up checks: production mode refuses a default secret or demo passwords."""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from handoff import demo
from workflows import accounts
from workflows.db import Database
from workflows.models import User

from .config import DEV_SECRET, UnsafeConfiguration

__all__ = ["UnsafeConfiguration", "check_production_settings"]


def check_production_settings(app: Flask) -> None:
    if app.config["ENV"] != "production":
        return
    if os.environ.get("CLOCK_OFFSET_SECONDS"):
        raise UnsafeConfiguration("production refuses a shifted clock (CLOCK_OFFSET_SECONDS)")
    secret = app.config.get("SECRET_KEY") or ""
    if secret == DEV_SECRET or len(secret) < 32:
        raise UnsafeConfiguration("production needs SECRET_KEY: a random value of 32+ characters")
    demo_users = demo_accounts_with_demo_password(Database(app.config["DATABASE_URL"]))
    if demo_users:
        raise UnsafeConfiguration(
            "production refuses to start while demo accounts keep the demo password: "
            + ", ".join(demo_users[:10])
        )
    # and a demo account seeded later (`flask seed-demo` against this database) signs nobody in
    accounts.refuse_passwords(demo.demo_password())


def demo_accounts_with_demo_password(db: Database, enough: int = 10) -> list[str]:
    """Demo accounts whose password is still the demo password (the first `enough` of them:
    each check is a deliberately slow Argon2 verification)."""
    password = demo.demo_password()
    names = [u["username"] for u in demo.load("users.json")["users"]]
    verdicts: dict[str, bool] = {}  # one verification per distinct hash
    found: list[str] = []
    try:
        with db.read() as session:
            rows = session.execute(
                select(User.username, User.password_hash)
                .where(User.username.in_(names))
                .order_by(User.username)
            ).all()
    except SQLAlchemyError:
        return []  # not migrated yet: nothing to refuse
    finally:
        db.dispose()
    for username, password_hash in rows:
        if password_hash not in verdicts:
            verdicts[password_hash] = accounts.verify_password(password_hash, password)
        if verdicts[password_hash]:
            found.append(username)
            if len(found) >= enough:
                break
    return found
