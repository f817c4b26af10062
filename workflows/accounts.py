"""Users, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi). API tokens are random, shown once, and stored
only as SHA-256 digests, so a database leak yields no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, roles
from .models import ApiToken, Membership, OrgUnit, User

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-password")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
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


class LoginThrottled(Exception):
    def __init__(self, until: datetime):
        super().__init__("too many failed sign-ins")
        self.until = until


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user for these credentials, or None; throttles after repeated failures.

    The user row is locked (FOR UPDATE on PostgreSQL; SQLite writers run one at a time) so that
    simultaneous guesses are counted one after the other: no lost update of the failure count
    lets a parallel attacker try more than MAX_FAILED_LOGINS passwords per lockout.
    """
    if not _storable(username):  # no such name can exist, and the database would refuse it
        verify_password(_DUMMY_HASH, password)
        return None
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    now = clock.now()
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)
        return None
    if user.locked_until and user.locked_until > now:
        raise LoginThrottled(user.locked_until)
    if not verify_password(user.password_hash, password) or password in _refused_passwords:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        audit.record(session, "auth.failed", actor_id=user.id)
        return None
    user.failed_logins, user.locked_until = 0, None
    return user


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (no UTF-8 for it)."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=clock.now() + ttl)
    session.add(row)
    audit.record(session, "auth.token_issued", actor_id=user.id)
    return token, row


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    return row.user if row.user.is_active else None


def revoke_token(session: Session, token: str) -> bool:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = clock.now()
    audit.record(session, "auth.token_revoked", actor_id=row.user_id)
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
