"""Administration writes: users and their memberships, org units.

One function per admin action. The JSON API (`server/api/admin.py`) and the admin pages
(`server/web/pages_admin.py`) both call them, so an action is checked, audited and refused the
same way whichever way it comes in (a plugin's own records have theirs in its package). Each
function validates its input, writes its audit event in the caller's transaction and raises:

- `Invalid` (422) with `fields`: field -> the API's bilingual message;
- `Conflict` (409) when the username, the code or the membership is taken;
- `NotFound` (404) when the user, org unit or membership named does not exist;
- `Forbidden` (403) when an administrator would deactivate their own account.

Every refusal also carries `reasons` (field -> a key of REASONS), so a caller that words its
messages itself (the pages, in the page's language) never parses the API's texts.

The input rules are those of the API's schemas (`server.schemas`), checked here again so that the
pages, which do not go through the schemas, accept exactly what the API accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audit, clock, inputs, roles
from .accounts import hash_password
from .errors import Conflict, Forbidden, Invalid, NotFound
from .inputs import column_length
from .models import ApiToken, Membership, OrgUnit, Role, User
from .routing import SCOPE_KEYS

# Why an input was refused, by field: what the pages word in their own language.
REASONS = frozenset(
    {
        "required",
        "invalid_username",
        "invalid_name",
        # a text refused by `workflows.inputs` (its Problem.reason; `too_long` with its limit)
        "too_long",
        "control",
        "invisible",
        "unstorable",
        "invalid_password",
        "invalid_unit_code",
        "invalid_item_code",
        "invalid_kind",
        "invalid_category",
        "invalid_flag",
        "unknown_field",
        "user_exists",
        "code_exists",
        "membership_exists",
        "duplicate_membership",
        "unknown_org_unit",
        "unknown_parent",
        "unknown_role",
        "role_unit_kind",
        "cycle",
        "self_deactivation",
        "invalid_email",
        # notifications: settings and webhooks
        "email_required",
        "invalid_url",
        "invalid_format",
        "invalid_secret",
        # the statutory calendar (workflows.calendar)
        "invalid_year",
        "invalid_date",
        "invalid_list",
        "date_outside_year",
        "date_order",
        "overlap",
        "not_weekend",
        "no_holidays",
    }
)

USERNAME_MAX = column_length(User.username)
UNIT_CODE_MAX = column_length(OrgUnit.code)
USERNAME = re.compile(rf"[A-Za-z0-9._-]{{2,{USERNAME_MAX}}}")
UNIT_CODE = re.compile(rf"[A-Za-z0-9-]{{1,{UNIT_CODE_MAX}}}")
DISPLAY_NAME_MAX = column_length(User.display_name)
UNIT_NAME_MAX = column_length(OrgUnit.name)
# one plain ASCII address, local@domain.tld: nothing a mail header could be split on (no
# spaces, commas, angle brackets or control characters); the SMTP server judges the rest
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}"
)
EMAIL_MAX = 254
PASSWORD_LENGTH = (10, 200)
UNIT_KINDS = tuple(SCOPE_KEYS)  # district, street, community, department, finance, access_office
USER_CHANGES = ("display_name", "password", "is_active", "memberships", "email")
UNIT_CHANGES = ("name", "legal_name", "parent")


# --- refusals -------------------------------------------------------------------------------


class InvalidInput(Invalid):
    """Invalid input: `fields` has the API's message of each field, `reasons` its reason."""

    def __init__(
        self,
        message: str,
        problems: Mapping[str, tuple[str, str]],
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        super().__init__(message, {field: text for field, (_, text) in problems.items()})
        self.reasons = {field: reason for field, (reason, _) in problems.items()}
        # field -> what the reason's wording needs ({"limit": 40} for too_long)
        self.params = {field: dict(p) for field, p in (params or {}).items()}


class Taken(Conflict):
    """A username, code or membership that exists already (the API answers no fields)."""

    def __init__(self, message: str, field: str, reason: str):
        super().__init__(message)
        self.reasons = {field: reason}


class SelfDeactivation(Forbidden):
    def __init__(self) -> None:
        super().__init__("不能停用自己的账号 you cannot deactivate yourself")
        self.reasons = {"is_active": "self_deactivation"}


def reasons_of(exc: Exception) -> dict[str, str]:
    """field -> reason of a refusal raised here ({} for any other error)."""
    return dict(getattr(exc, "reasons", None) or {})


def params_of(exc: Exception) -> dict[str, dict[str, Any]]:
    """field -> the placeholders of its reason's wording (the limit of a too long text)."""
    return dict(getattr(exc, "params", None) or {})


class Problems:
    """Problems found in one input, field by field (the first one of each field is kept)."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str, str]] = {}
        self.params: dict[str, dict[str, Any]] = {}

    def add(self, field: str, reason: str, text: str, **params: Any) -> None:
        assert reason in REASONS, reason
        if field not in self.found:
            self.found[field] = (reason, text)
            if params:
                self.params[field] = params

    def refuse(self, message: str = "输入有误 invalid input") -> None:
        """Raise them, if there are any."""
        if self.found:
            raise InvalidInput(message, self.found, self.params)

    def text(
        self,
        field: str,
        value: Any,
        max_length: int,
        *,
        required: bool = True,
        multiline: bool = False,
    ) -> None:
        """A text by the rule of `workflows.inputs` (the API's schemas check the same one):
        at most `max_length` characters, the length of the column it is stored in."""
        problem = inputs.text_problem(value, max_length, required=required, multiline=multiline)
        if problem is None:
            return
        reason = {"not_text": "invalid_name"}.get(problem.reason, problem.reason)
        params = {"limit": problem.limit} if problem.limit is not None else {}
        self.add(field, reason, problem.message, **params)

    def unknown(self, changes: Mapping[str, Any], allowed: Iterable[str]) -> None:
        for key in sorted(set(changes) - set(allowed)):
            self.add(str(key), "unknown_field", "未知字段 unknown field")


def unit_by_code(session: Session, code: str) -> OrgUnit | None:
    if not inputs.storable(code):  # no unit has it, and PostgreSQL's driver refuses a NUL
        return None
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def flush_or(session: Session, taken: Taken) -> None:
    """Flush; a unique index refusing the row (a simultaneous create) is `taken`."""
    try:
        session.flush()
    except IntegrityError:
        raise taken from None


# --- users ----------------------------------------------------------------------------------


def _user(session: Session, username: str) -> User:
    found = inputs.storable(username)  # a NUL names nobody (and PostgreSQL's driver refuses it)
    user = session.scalar(select(User).where(User.username == username)) if found else None
    if user is None:
        raise NotFound("user not found")
    return user


def _check_password(problems: Problems, field: str, password: Any) -> None:
    low, high = PASSWORD_LENGTH
    if not isinstance(password, str) or not low <= len(password) <= high:
        problems.add(
            field, "invalid_password", f"密码为 {low}–{high} 位 {low} to {high} characters"
        )


def clean_email(problems: Problems, field: str, value: Any) -> str | None:
    """An e-mail address as stored: trimmed, None for none ("" or None clears it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if (
        not isinstance(value, str)
        or len(value.strip()) > EMAIL_MAX
        or not EMAIL.fullmatch(value.strip())
    ):
        problems.add(field, "invalid_email", "请填写有效的电子邮箱 a valid e-mail address")
        return None
    return value.strip()


def set_email(session: Session, user: User, value: Any, *, actor_id: int | None) -> User:
    """The user's e-mail address (None or "" removes it): the one write of it, for the admin
    (`update_user`) and for the user's own settings page alike. Audited as `user.updated`."""
    problems = Problems()
    email = clean_email(problems, "email", value)
    problems.refuse()
    if email != user.email:
        user.email = email
        audit.record(
            session, "user.updated", actor_id=actor_id, username=user.username, changed=["email"]
        )
    return user


def _memberships(
    session: Session, pairs: Sequence[tuple[str, str]], *, one: bool = False
) -> list[Membership]:
    """(role, org unit code) pairs -> new Membership rows, each checked with
    `roles.membership_problem`; problems are named `memberships.<i>.role|org_unit` (`role` /
    `org_unit` for `one` membership on its own)."""
    problems = Problems()
    out: list[Membership] = []
    for i, (role, code) in enumerate(pairs):
        where = "" if one else f"memberships.{i}."
        if not role:
            problems.add(where + "role", "required", "必填 required")
        unit = unit_by_code(session, code) if code else None
        if unit is None:
            reason = "unknown_org_unit" if code else "required"
            problems.add(where + "org_unit", reason, f"未知单位 unknown org unit {code}")
            continue
        if not role:
            continue
        problem = roles.membership_problem(session, role, unit)
        if problem:
            reason = "role_unit_kind" if session.get(Role, role) is not None else "unknown_role"
            problems.add(where + "role", reason, problem)
            continue
        out.append(Membership(role=role, org_unit_id=unit.id))
    reasons = {reason for reason, _ in problems.found.values()}
    problems.refuse("unknown org unit" if reasons == {"unknown_org_unit"} else "invalid membership")
    if len({(m.role, m.org_unit_id) for m in out}) != len(out):
        raise InvalidInput(
            "duplicate membership",
            {"memberships": ("duplicate_membership", "重复 duplicate membership")},
        )
    return out


def _answerable(session: Session, user: User) -> User:
    """The user with memberships and their units loaded, for answering after the session ends."""
    session.flush()
    session.expire(user, ["memberships"])
    for membership in user.memberships:
        _ = membership.org_unit.code
    return user


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    memberships: Sequence[tuple[str, str]] = (),
    email: str | None = None,
    actor_id: int | None,
) -> User:
    """A new user with (role, org unit code) memberships and, if given, an e-mail address;
    audited as `user.created`."""
    problems = Problems()
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        problems.add(
            "username",
            "invalid_username",
            f"用户名为 2–{USERNAME_MAX} 位英文字母、数字、点、下划线或连字符"
            f" 2-{USERNAME_MAX} letters, digits, dots, underscores or hyphens",
        )
    problems.text("display_name", display_name, DISPLAY_NAME_MAX)
    _check_password(problems, "password", password)
    address = clean_email(problems, "email", email)
    problems.refuse()
    if session.scalar(select(User.id).where(User.username == username)):
        raise Taken("username already exists", "username", "user_exists")
    user = User(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        email=address,
    )
    user.memberships = _memberships(session, list(memberships))
    session.add(user)
    flush_or(session, Taken("username already exists", "username", "user_exists"))
    audit.record(session, "user.created", actor_id=actor_id, username=user.username)
    return _answerable(session, user)


def revoke_tokens(session: Session, user: User, actor_id: int | None) -> int:
    """End every API token of the user (stolen ones too); audited when there were any."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    ).rowcount
    if revoked:
        audit.record(
            session,
            "auth.tokens_revoked",
            actor_id=actor_id,
            username=user.username,
            count=revoked,
        )
    return revoked


def update_user(
    session: Session, username: str, changes: Mapping[str, Any], *, actor_id: int | None
) -> User:
    """Change a user: any of `display_name`, `password`, `is_active` (True / False),
    `email` (an address, or None / "" for none) and `memberships` ((role, org unit code) pairs
    that replace the user's).

    A new password or a deactivation ends every API token of the user, so switching an account
    off and on again does not bring its old tokens back. Nobody deactivates their own account.
    Audited as `user.updated` with the names of the changed fields (never the password)."""
    user = _user(session, username)
    problems = Problems()
    problems.unknown(changes, USER_CHANGES)
    if "display_name" in changes:
        problems.text("display_name", changes["display_name"], DISPLAY_NAME_MAX)
    if "password" in changes:
        _check_password(problems, "password", changes["password"])
    active = changes.get("is_active")
    if "is_active" in changes and not isinstance(active, bool):
        problems.add("is_active", "invalid_flag", "应为 true 或 false must be true or false")
    email = clean_email(problems, "email", changes["email"]) if "email" in changes else None
    problems.refuse()
    if active is False and user.id == actor_id:
        raise SelfDeactivation()
    memberships = (
        _memberships(session, list(changes["memberships"])) if "memberships" in changes else None
    )

    if "display_name" in changes:
        user.display_name = changes["display_name"].strip()
    if "is_active" in changes:
        user.is_active = active
    if "email" in changes:
        user.email = email
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
    if "password" in changes or active is False:
        revoke_tokens(session, user, actor_id)
    if memberships is not None:
        user.memberships.clear()
        session.flush()
        user.memberships.extend(memberships)
    changed = sorted(k for k in changes if k != "password") + (
        ["password"] if "password" in changes else []
    )
    audit.record(session, "user.updated", actor_id=actor_id, username=username, changed=changed)
    return _answerable(session, user)


def add_membership(
    session: Session, username: str, role: str, org_unit: str, *, actor_id: int | None
) -> Membership:
    """The user also holds `role` at the org unit `org_unit` (a code). Refused (`role` /
    `org_unit`) as the API refuses a membership; an existing one is a Conflict."""
    user = _user(session, username)
    (membership,) = _memberships(session, [(role, org_unit)], one=True)
    if any(
        m.role == membership.role and m.org_unit_id == membership.org_unit_id
        for m in user.memberships
    ):
        raise Taken("membership exists", "role", "membership_exists")
    user.memberships.append(membership)
    flush_or(session, Taken("membership exists", "role", "membership_exists"))
    audit.record(
        session,
        "user.updated",
        actor_id=actor_id,
        username=username,
        changed=["memberships"],
        added={"role": role, "org_unit": org_unit},
    )
    return membership


def remove_membership(
    session: Session, username: str, membership_id: int, *, actor_id: int | None
) -> None:
    """The user no longer holds that membership (its id)."""
    user = _user(session, username)
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        raise NotFound("membership not found")
    removed = {"role": membership.role, "org_unit": membership.org_unit.code}
    user.memberships.remove(membership)
    session.flush()
    audit.record(
        session,
        "user.updated",
        actor_id=actor_id,
        username=username,
        changed=["memberships"],
        removed=removed,
    )


# --- org units ------------------------------------------------------------------------------


def _parent(session: Session, problems: Problems, code: Any) -> OrgUnit | None:
    if code is None:
        return None
    unit = unit_by_code(session, code) if isinstance(code, str) and code else None
    if unit is None:
        problems.add("parent", "unknown_parent", f"未知单位 unknown org unit {code}")
    return unit


def _legal_name(problems: Problems, value: Any) -> None:
    """A unit's legal name: optional, one line as long as its column."""
    if value is not None:
        problems.text("legal_name", value, UNIT_NAME_MAX, required=False)


def _cleaned(value: str | None) -> str | None:
    """A legal name as stored: trimmed; None for none (a blank one is none)."""
    if value is None:
        return None
    return value.strip() or None


def create_org_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent: str | None = None,
    legal_name: str | None = None,
    actor_id: int | None,
) -> OrgUnit:
    """A new org unit, under the unit `parent` (a code) if given, with its full `legal_name`
    if given (None or blank: its name is); audited `org_unit.created`."""
    problems = Problems()
    if not isinstance(code, str) or not UNIT_CODE.fullmatch(code):
        problems.add(
            "code",
            "invalid_unit_code",
            f"编码为 1–{UNIT_CODE_MAX} 位英文字母、数字或连字符"
            f" 1-{UNIT_CODE_MAX} letters, digits or hyphens",
        )
    problems.text("name", name, UNIT_NAME_MAX)
    _legal_name(problems, legal_name)
    if kind not in UNIT_KINDS:
        problems.add("kind", "invalid_kind", "单位类型应为 one of: " + ", ".join(UNIT_KINDS))
    if parent is not None and not (isinstance(parent, str) and len(parent) <= UNIT_CODE_MAX):
        problems.add("parent", "unknown_parent", f"未知单位 unknown org unit {parent}")
    problems.refuse()
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)):
        raise Taken("org unit code already exists", "code", "code_exists")
    parent_unit = _parent(session, problems, parent)
    problems.refuse("unknown org unit")
    unit = OrgUnit(code=code, name=name.strip(), kind=kind, legal_name=_cleaned(legal_name))
    unit.parent = parent_unit
    session.add(unit)
    flush_or(session, Taken("org unit code already exists", "code", "code_exists"))
    audit.record(session, "org_unit.created", actor_id=actor_id, code=unit.code)
    return unit


def update_org_unit(
    session: Session, code: str, changes: Mapping[str, Any], *, actor_id: int | None
) -> OrgUnit:
    """Rename a unit, set its full legal name (None or blank: its name is) or move it under
    another (`parent`: a code, or None for the top); a unit never becomes its own ancestor.
    Audited as `org_unit.updated` with the changes."""
    unit = unit_by_code(session, code)
    if unit is None:
        raise NotFound("org unit not found")
    problems = Problems()
    problems.unknown(changes, UNIT_CHANGES)
    if "name" in changes:
        problems.text("name", changes["name"], UNIT_NAME_MAX)
    if "legal_name" in changes:
        _legal_name(problems, changes["legal_name"])
    problems.refuse()
    if "parent" in changes:
        parent = _parent(session, problems, changes["parent"])
        problems.refuse("unknown org unit")
        node = parent
        while node is not None:
            if node.id == unit.id:
                raise InvalidInput(
                    "cycle", {"parent": ("cycle", "不能形成循环 would create a cycle")}
                )
            node = node.parent
        unit.parent = parent
    if "name" in changes:
        unit.name = changes["name"].strip()
    if "legal_name" in changes:
        unit.legal_name = _cleaned(changes["legal_name"])
    audit.record(session, "org_unit.updated", actor_id=actor_id, code=code, **changes)
    return unit
