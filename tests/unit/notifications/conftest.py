"""Fixtures of the notification tests: real receivers, the demo accounts, a second holder of a
role, delivery by the worker in this process."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notifications import channels, worker
from notifications.models import Notification
from workflows import admin
from workflows.models import User

from .receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def smtp():
    with SmtpReceiver() as server:
        yield server


@pytest.fixture
def http():
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def settings(smtp):
    return channels.Settings(
        smtp_url=smtp.url, mail_from="待办提醒 <noreply@handoff.example>", base_url="http://svc"
    )


def set_email(db, username: str, address: str | None) -> None:
    with db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        admin.set_email(s, user, address, actor_id=None)


def user_id(db, username: str) -> int:
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def rows(db, **where) -> list[Notification]:
    with db.read() as s:
        stmt = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        return list(s.scalars(stmt))


def deliver(db, settings) -> worker.Delivered:
    return worker.deliver_due(db, settings)
