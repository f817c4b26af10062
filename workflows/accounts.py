"""Users, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi). API tokens are random, shown once, and stored
only as SHA-256 digests, so a database leak yields no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import audit, clock, roles, throttle
from .models import ApiToken, Membership, OrgUnit, User
from .throttle import LoginThrottled  # noqa: F401 (raised by authenticate, caught by callers)

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-password")
# Passwords that never sign anyone in, even when they match (production refuses the demo password,
# also for demo accounts seeded after the service started): see server.security.
_refused_passwords: frozenset[str] = frozenset()


def refuse_passwords(*passwords: str) -> None:
    """From now on, in this process, these passwords sign nobody in."""
    global _refused_passwords
    _refused_passwords = _refused_passwords | frozenset(passwords)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False


def authenticate(session: Session, username: str, password: str, address: str = "") -> User | None:
    """The user for these credentials, or None; `address` is the client's (see `throttle`:
    growing delays per address and per name from it, names that exist or not alike).

    Raises `LoginThrottled` while this address must wait before trying this name again.
    """
    now = clock.now()
    rows = throttle.lock(session, username, address, now)
    user = None
    if _storable(username):  # else no such name can exist, and the database would refuse it
        user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)  # the same time whether the name exists or not
        user = None
    elif not verify_password(user.password_hash, password) or password in _refused_passwords:
        audit.record(session, "auth.failed", actor_id=user.id)
        user = None
    if user is None:
        throttle.failed(rows, now)
        return None
    throttle.succeeded(session, rows)
    return user


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (no UTF-8 for it)."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def issue_token(
    session: Session, user: User, ttl: timedelta, kind: str = "api"
) -> tuple[str, ApiToken]:
    """A new API token (`kind` api) or web session (`kind` web): shown once, stored digested."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=_digest(token), expires_at=clock.now() + ttl, kind=kind
    )
    session.add(row)
    action = "auth.token_issued" if kind == "api" else "auth.signed_in"
    audit.record(session, action, actor_id=user.id)
    return token, row


@dataclass(frozen=True)
class TokenHolder:
    """Who a live token belongs to: the user and the (role, org unit id) pairs they hold."""

    user_id: int
    username: str
    display_name: str
    pairs: frozenset[tuple[str, int]]


_HOLDER = (
    select(User.id, User.username, User.display_name, Membership.role, Membership.org_unit_id)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.kind == bindparam("kind"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.is_active.is_(True),
    )
)


def holder_of_token(session: Session, token: str, kind: str = "api") -> TokenHolder | None:
    """The active holder of a live token of that kind, in one indexed statement (the token's
    unique hash, then the user's memberships by `membership.user_id`): what every API request
    checks, inside its own transaction, so a revocation counts from the next request on.
    Run on the session's connection (Core): plain rows, no ORM bookkeeping."""
    params = {"digest": _digest(token), "kind": kind, "now": clock.now()}
    rows = session.connection().execute(_HOLDER, params).all()
    if not rows:
        return None
    user_id, username, display_name = rows[0][:3]
    pairs = frozenset((role, unit) for *_, role, unit in rows if role is not None)
    return TokenHolder(user_id, username, display_name, pairs)


def revoke_token(session: Session, token: str, kind: str = "api") -> bool:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.kind == kind)
    )
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = clock.now()
    action = "auth.token_revoked" if kind == "api" else "auth.signed_out"
    audit.record(session, action, actor_id=row.user_id)
    return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    username: str,
    display_name: str,
    password: str,
    memberships: list[tuple[str, str]],
) -> User:
    """Create a user with (role, org unit code) memberships."""
    user = User(username=username, display_name=display_name, password_hash=hash_password(password))
    for role, code in memberships:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None:
            raise ValueError(f"unknown org unit {code}")
        problem = roles.membership_problem(session, role, unit)
        if problem:
            raise ValueError(problem)
        user.memberships.append(Membership(role=role, org_unit_id=unit.id))
    session.add(user)
    return user
