"""Sign-in throttling: growing delays per client address and per name from one address.

Counting wrong passwords per *account* let anyone lock a real user out. Here the count is per
(address, name) and per address: an address that keeps guessing one name waits longer and longer
(after `PAIR_FREE` wrong passwords), an address that guesses across many names too (after
`ADDRESS_FREE`), and the right password from an address that has not been guessing always works.
Names that do not exist are counted exactly like names that do, so the answers (401, or 429
with Retry-After) never tell which names exist.

The rows are locked while an attempt is decided, so parallel guesses are counted one after the
other. A count is forgotten a day after its last wrong password.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import LoginThrottle

PAIR_FREE = 5  # LOGIN_FREE_PER_NAME
ADDRESS_FREE = 20  # LOGIN_FREE_PER_ADDRESS (an office behind one NAT address may want more)
FIRST_DELAY = timedelta(seconds=30)
MAX_PAIR_DELAY = timedelta(minutes=15)
MAX_ADDRESS_DELAY = timedelta(hours=1)
FORGET = timedelta(days=1)


class LoginThrottled(Exception):
    def __init__(self, until: datetime):
        super().__init__("too many failed sign-ins")
        self.until = until


def keys(username: str, address: str) -> tuple[str, str]:
    """The address's key and the pair's; the name is digested, so that any text (a NUL, a lone
    surrogate, 10 000 characters) makes a key the database can store."""
    address = (address or "-")[:60]
    name = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"a:{address}", f"p:{address} {name}"


def lock(session: Session, username: str, address: str, now: datetime) -> list[LoginThrottle]:
    """The address's and the pair's rows, made if missing and locked for this attempt; raises
    `LoginThrottled` while either must wait."""
    wanted = keys(username, address)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values([{"key": k, "failures": 0} for k in wanted])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key.in_(wanted))
        .order_by(LoginThrottle.key)  # one lock order for every attempt: no deadlock
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    waits = [r.blocked_until for r in rows if r.blocked_until and r.blocked_until > now]
    if waits:
        raise LoginThrottled(max(waits))
    return list(rows)


def failed(rows: list[LoginThrottle], now: datetime) -> None:
    """Count a wrong password against each row; past its free tries a row waits, twice as long
    each time."""
    for row in rows:
        if row.last_failure_at is None or now - row.last_failure_at > FORGET:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        pair = row.key.startswith("p:")
        if pair:
            free, cap = _setting("LOGIN_FREE_PER_NAME", PAIR_FREE), MAX_PAIR_DELAY
        else:
            free, cap = _setting("LOGIN_FREE_PER_ADDRESS", ADDRESS_FREE), MAX_ADDRESS_DELAY
        if row.failures >= free:
            row.blocked_until = now + min(FIRST_DELAY * 2 ** min(row.failures - free, 20), cap)


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def succeeded(session: Session, rows: list[LoginThrottle]) -> None:
    """The name's count from this address starts again; the address keeps its count of other
    names' wrong passwords (a valid account must not wipe an address's guessing)."""
    done = [r.key for r in rows if r.key.startswith("p:") or not r.failures]
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(done)))
