"""A user's own notification settings: the e-mail address and whether to get e-mails (in-app
messages are always on). The address is written by `workflows.admin.set_email`, the one write
of it the admin's pages and API use too, so it is checked alike both ways."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from workflows import admin, audit, clock
from workflows.errors import NotFound
from workflows.models import User

from .models import NotificationPreference

CHANGES = ("email", "email_enabled")


@dataclass(frozen=True)
class Settings:
    email: str | None
    email_enabled: bool  # the user's choice
    inapp_enabled: bool = True

    @property
    def email_active(self) -> bool:
        """Whether e-mails go out: chosen, and there is an address."""
        return self.email_enabled and bool(self.email)


def read(session: Session, user_id: int) -> Settings:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    pref = session.get(NotificationPreference, user_id)
    return Settings(email=user.email, email_enabled=pref.email_enabled if pref else True)


def update(session: Session, user_id: int, changes: Mapping[str, Any]) -> Settings:
    """Change the user's own settings: `email` (an address, or None / "" for none) and
    `email_enabled` (True / False). Turning e-mail on needs an address (`email_required`).
    Refusals are `workflows.admin.InvalidInput` with reasons, as the admin's are."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    problems = admin.Problems()
    problems.unknown(changes, CHANGES)
    enabled = changes.get("email_enabled")
    if "email_enabled" in changes and not isinstance(enabled, bool):
        problems.add("email_enabled", "invalid_flag", "应为 true 或 false must be true or false")
    address = (
        admin.clean_email(problems, "email", changes["email"])
        if "email" in changes
        else (user.email)
    )
    problems.refuse()
    current = read(session, user_id)
    wanted = current.email_enabled if enabled is None else enabled
    if "email_enabled" in changes and wanted and not address:
        raise admin.InvalidInput(
            "an e-mail address is needed",
            {
                "email": (
                    "email_required",
                    "开启邮件通知需要先填写电子邮箱 an e-mail address is needed",
                )
            },
        )
    if "email" in changes:
        admin.set_email(session, user, changes["email"], actor_id=user_id)
    if "email_enabled" in changes and wanted != current.email_enabled:
        pref = session.get(NotificationPreference, user_id)
        if pref is None:
            pref = NotificationPreference(user_id=user_id)
            session.add(pref)
        pref.email_enabled, pref.updated_at = wanted, clock.now()
        audit.record(session, "notifications.settings", actor_id=user_id, email_enabled=wanted)
    session.flush()
    return read(session, user_id)
