"""Enqueue notifications inside the caller's transaction, and turn them into outbox rows.

`enqueue` only collects (in `session.info`); the rows are written by a `before_commit` listener
on every Session, once per transaction. So:

- the outbox rows commit with the state change that caused them, or not at all (a rolled-back
  step leaves nothing to deliver);
- everything one transaction has for one recipient on one channel becomes ONE message listing
  the items (a digest): a request fanned out to 39 communities of 7 streets is one message per
  street officer and channel and one webhook post per street unit, not 39 of each.

Collecting until commit (rather than writing at the end of each engine step) is what makes the
digest span a whole fan-out: `handoff.requests.create_request` runs one engine step per
community in one transaction, and only the commit knows the last one has run.

Every item has a key (`task_opened:17`); a key is enqueued once per recipient and channel
(`NotificationKey`), so a step or a scan that runs again tells nobody twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    String,
    bindparam,
    event,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from workflows import clock, write_behind
from workflows.models import Membership, Task, User
from workflows.routing import ESCALATION_ROLE

from .models import Notification, NotificationKey, NotificationPreference, Webhook

PENDING = "notifications.pending"  # session.info: the items to write at commit
KINDS = (
    "task_opened",
    "due_soon",
    "overdue",
    "escalated",
    "request_decided",
    "money_confirmed",
    "test",
)
CHUNK = 500  # keys per IN (...) when looking up what was enqueued before


@dataclass(frozen=True)
class Item:
    kind: str
    key: str
    data: dict[str, Any]
    # the key names a row made in this very transaction (a task just opened), so nothing can
    # have been enqueued under it before: no need to look
    fresh: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, **self.data}


@dataclass
class _Entry:
    item: Item
    users: tuple[int, ...]
    units: tuple[int, ...]
    webhooks: tuple[int, ...] = ()
    holders: tuple[tuple[str, int], ...] = ()  # (role, org unit id): whoever holds it at commit
    exclude: int | None = None  # not this user (the actor who caused the event)


@dataclass
class _Message:
    channel: str
    user_id: int | None = None
    webhook_id: int | None = None
    org_unit_id: int | None = None
    address: str | None = None
    items: list[Item] = field(default_factory=list)


def enqueue(
    session: Session,
    kind: str,
    key: str,
    data: dict[str, Any],
    *,
    users: Iterable[int] = (),
    holders: Iterable[tuple[str, int | None]] = (),
    units: Iterable[int] = (),
    webhooks: Iterable[int] = (),
    exclude: int | None = None,
    fresh: bool = False,
) -> None:
    """Tell `users` (ids) and the active `holders` of roles at org units ((role, unit id),
    looked up at commit, all of a transaction's in one statement) in-app, and by e-mail if they
    chose it, and the webhooks registered for the org units `units` (ids), about one event, in
    `session`'s transaction; never `exclude` (the actor). `data` is what the message shows
    (JSON: task_id, instance_id, title, task_name, due_at, …). `fresh`: the key names a row
    this transaction made, so it cannot have been enqueued before (nothing is looked up)."""
    assert kind in KINDS, kind
    install()
    pairs = tuple((role, unit) for role, unit in holders if unit is not None)
    session.info.setdefault(PENDING, []).append(
        _Entry(
            Item(kind, key, dict(data), fresh),
            tuple(users),
            tuple(units),
            tuple(webhooks),
            pairs,
            exclude,
        )
    )


def install() -> None:
    """Listen to every Session's commits (idempotent). `notifications.register()` calls it;
    `enqueue` does too, so an item is never collected without being written."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _before_commit(session: Session) -> None:
    if session.info.get(PENDING):
        flush_pending(session, at_commit=True)


def _after_rollback(session: Session) -> None:
    # whatever was collected belongs to the transaction that did not happen
    session.info.pop(PENDING, None)


# --- recipients -----------------------------------------------------------------------------


def task_audience(task: Task) -> dict[str, list]:
    """Whose inbox the task is in, as `enqueue`'s `users` and `holders`: its assignee if it
    has one, else every active holder of its role at its org unit; an escalated task also the
    district reviewers it is escalated to."""
    users = [task.assignee_id] if task.assignee_id is not None else []
    pairs = [] if users else [(task.role, task.org_unit_id)]
    if task.escalated_at is not None:
        pairs.append((ESCALATION_ROLE, task.escalation_unit_id))
    return {"users": users, "holders": pairs}


def task_data(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "instance_id": task.instance_id,
        "task_key": task.key,
        "task_name": task.name,
        "title": task.title,
        "business_key": task.business_key,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }


# --- writing the outbox ---------------------------------------------------------------------


def flush_pending(session: Session, at_commit: bool = False) -> int:
    """Write what was collected in this transaction as outbox rows; the number written.

    Called at commit (`at_commit`: the keys' INSERT then goes with the COMMIT, written behind);
    the worker's scanners call it themselves to catch a race with another worker (an
    IntegrityError on `notification_key`) before their commit."""
    entries: list[_Entry] = session.info.pop(PENDING, None) or []
    if not entries:
        return 0
    now = clock.now()
    session.flush()  # the recipients query reads memberships this transaction may have changed
    messages = _messages(session, entries)
    seen = _enqueued_before(session, {e.item.key for e in entries if not e.item.fresh})
    rows: list[dict[str, Any]] = []
    told: list[tuple[str, list[Item]]] = []  # per row: its recipient and items
    for (channel, recipient), message in messages.items():
        items = []
        for item in message.items:
            if (item.key, recipient, channel) not in seen:
                seen.add((item.key, recipient, channel))
                items.append(item)
        if not items:
            continue
        kinds = {item.kind for item in items}
        rows.append(
            {
                "channel": channel,
                "user_id": message.user_id,
                "webhook_id": message.webhook_id,
                "org_unit_id": message.org_unit_id,
                "address": message.address,
                "kind": kinds.pop() if len(kinds) == 1 else "digest",
                "items": [item.as_json() for item in items],
                # an in-app message is delivered by being written
                "status": "sent" if channel == "inapp" else "pending",
                "sent_at": now if channel == "inapp" else None,
                "next_attempt_at": None if channel == "inapp" else now,
                "attempts": 0,
                "created_at": now,
            }
        )
        told.append((recipient, items))
    if not rows:
        return 0
    _write(session, rows, told, at_commit)
    return len(rows)


def _write(session: Session, rows: list[dict], told: list, at_commit: bool) -> None:
    """The outbox rows and their keys. At commit on PostgreSQL one statement writes both and
    goes with the COMMIT (the keys take their rows' new ids in the statement, `_IN_ONE`);
    otherwise the rows with their new ids, then their keys."""
    conn = session.connection()
    if at_commit and conn.dialect.name == "postgresql":
        conn.execute(_IN_ONE, _in_one(rows, told))
        return
    table = Notification.__table__
    ids = conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    conn.execute(
        insert(NotificationKey.__table__),
        [
            {"key": item.key, "recipient": who, "channel": row["channel"], "notification_id": i}
            for row, i, (who, items) in zip(rows, ids, told, strict=True)
            for item in items
        ],
    )


# The rows and their keys in one statement, its text the same every time (compiled and
# prepared once; a VALUES list of the rows would be compiled anew for each transaction): both
# lists go as one JSON parameter each. A key finds its row by channel and recipient, which no
# two rows of one transaction share: `who` is the user's id, or the webhook's id negated.
_IN_ONE = write_behind.deferred(  # built once, with its option
    text(
        """
WITH new AS (
    INSERT INTO notification (channel, user_id, webhook_id, org_unit_id, address, kind, items,
                              status, attempts, next_attempt_at, created_at, sent_at)
    SELECT channel, user_id, webhook_id, org_unit_id, address, kind, items,
           status, attempts, next_attempt_at, created_at, sent_at
    FROM json_to_recordset(CAST(:rows AS json)) AS r(
        channel varchar, user_id integer, webhook_id integer, org_unit_id integer,
        address varchar, kind varchar, items json, status varchar, attempts integer,
        next_attempt_at timestamptz, created_at timestamptz, sent_at timestamptz)
    RETURNING id, channel, user_id, webhook_id
)
INSERT INTO notification_key (key, recipient, channel, notification_id)
SELECT k.key, k.recipient, k.channel, new.id
FROM json_to_recordset(CAST(:keys AS json)) AS k(
    key varchar, recipient varchar, channel varchar, who integer)
JOIN new ON new.channel = k.channel AND coalesce(new.user_id, -new.webhook_id) = k.who
"""
    )
)


def _in_one(rows: list[dict], told: list) -> dict[str, str]:
    """`_IN_ONE`'s parameters (PostgreSQL's data-modifying WITH)."""
    keys = [
        {
            "key": item.key,
            "recipient": who,
            "channel": row["channel"],
            "who": row["user_id"] or -row["webhook_id"],
        }
        for row, (who, items) in zip(rows, told, strict=True)
        for item in items
    ]
    return {"rows": json.dumps(rows, default=_iso), "keys": json.dumps(keys)}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


@dataclass
class _Audience:
    address: dict[int, str | None]  # active user id -> their address if they want e-mail
    members: dict[tuple[str, int], list[int]]  # (role, unit) -> its active holders, ascending
    hooks: dict[int, list[int]]  # org unit id -> its webhook ids, ascending
    hook_unit: dict[int, int]  # webhook id -> its org unit id


# The recipients of a transaction's entries, one statement built once (its lists expand when
# it runs; an empty one matches nothing): the active users named by id or as holders of a
# role at a unit, with their e-mail choice, and the webhooks of the units (or by id).
_AUDIENCE = union_all(
    select(
        literal("u").label("what"),
        User.id.label("id"),
        User.email.label("email"),
        NotificationPreference.email_enabled.label("email_enabled"),
        Membership.role.label("role"),
        Membership.org_unit_id.label("unit"),
    )
    .select_from(User)
    .outerjoin(Membership, Membership.user_id == User.id)
    .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
    .where(
        User.is_active.is_(True),
        or_(
            User.id.in_(bindparam("ids", expanding=True)),
            tuple_(Membership.role, Membership.org_unit_id).in_(bindparam("pairs", expanding=True)),
        ),
    ),
    select(
        literal("w").label("what"),
        Webhook.id.label("id"),
        null().cast(String).label("email"),
        null().cast(Boolean).label("email_enabled"),
        null().cast(String).label("role"),
        Webhook.org_unit_id.label("unit"),
    ).where(
        Webhook.org_unit_id.in_(bindparam("units", expanding=True))
        | Webhook.id.in_(bindparam("hooks", expanding=True))
    ),
)


def _audience(session: Session, entries: list[_Entry]) -> _Audience:
    """In one statement (`_AUDIENCE`): the active users the entries name, by id or as holders
    of a role at a unit, with their address if they want e-mail, and the webhooks of the units
    they name (ids only: the worker reads url and secret when it delivers)."""
    ids = {u for e in entries for u in e.users}
    pairs = {p for e in entries for p in e.holders}
    unit_ids = {u for e in entries for u in e.units}
    hook_ids = {w for e in entries for w in e.webhooks}
    found = _Audience({}, {}, {}, {})
    if not (ids or pairs or unit_ids or hook_ids):
        return found
    params = {
        "ids": sorted(ids),
        "pairs": sorted(pairs),
        "units": sorted(unit_ids),
        "hooks": sorted(hook_ids),
    }
    rows = session.connection().execute(_AUDIENCE, params).all()
    for what, some_id, email, email_enabled, role, unit in sorted(rows, key=lambda r: r[1]):
        if what == "w":
            found.hooks.setdefault(unit, []).append(some_id)
            found.hook_unit[some_id] = unit
            continue
        found.address[some_id] = email if email and email_enabled is not False else None
        if (role, unit) in pairs:
            found.members.setdefault((role, unit), []).append(some_id)
    return found  # rows in id order, one per membership: each holder list ascending, once


def _messages(session: Session, entries: list[_Entry]) -> dict[tuple[str, str], _Message]:
    """(channel, recipient) -> the message it gets, items in the order they were enqueued."""
    audience = _audience(session, entries)
    address, members = audience.address, audience.members

    out: dict[tuple[str, str], _Message] = {}

    def add(channel: str, recipient: str, item: Item, **where: Any) -> None:
        message = out.setdefault((channel, recipient), _Message(channel=channel, **where))
        message.items.append(item)

    for entry in entries:
        people = [*entry.users, *(u for pair in entry.holders for u in members.get(pair, ()))]
        for user_id in dict.fromkeys(people):
            if user_id not in address or user_id == entry.exclude:
                continue  # inactive, or the actor
            add("inapp", f"u:{user_id}", entry.item, user_id=user_id)
            if address[user_id]:
                add("email", f"u:{user_id}", entry.item, user_id=user_id, address=address[user_id])
        targets = [h for unit in dict.fromkeys(entry.units) for h in audience.hooks.get(unit, [])]
        targets += [w for w in entry.webhooks if w in audience.hook_unit]
        for hook in dict.fromkeys(targets):
            add(
                "webhook",
                f"w:{hook}",
                entry.item,
                webhook_id=hook,
                org_unit_id=audience.hook_unit[hook],
            )
    return out


def _enqueued_before(session: Session, keys: set[str]) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    ordered = sorted(keys)
    for i in range(0, len(ordered), CHUNK):
        rows = session.execute(
            select(NotificationKey.key, NotificationKey.recipient, NotificationKey.channel).where(
                NotificationKey.key.in_(ordered[i : i + CHUNK])
            )
        )
        found.update((key, recipient, channel) for key, recipient, channel in rows)
    return found
