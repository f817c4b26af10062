"""The fixed clauses of the 委托协议, one template per catalog category, admin-edited.

A drafted agreement copies the clauses in force (`template`) into its content, so an
edit here changes the agreements drafted after it, never one drafted or signed before. The
defaults below are what migration 0013 seeds (a frozen copy of them, as migrations keep their
data); a category without a row (a database someone emptied by hand) drafts with them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import admin, audit, clock
from workflows.errors import NotFound

from .catalog import CATEGORIES as CATALOG_CATEGORIES
from .models import AgreementTemplate

# every category a request can have: the catalog's, and `unlisted` for an item not in it
CATEGORIES = (*CATALOG_CATEGORIES, "unlisted")
# the clauses, in the order the agreement prints them; `other` may be empty
CLAUSES = ("breach", "variation", "termination", "dispute", "other")
REQUIRED = ("breach", "variation", "termination", "dispute")
# a clause is a few paragraphs; the whole template stays a page or two of print
CLAUSE_MAX = 4000

_BREACH_FUNDED = (
    "一、甲方未按本协议约定拨付工作经费或提供工作条件的，乙方有权暂停办理委托事项，完成期限相应顺延；"
    "由此影响工作进度或造成损失的，由甲方承担相应责任。\n"
    "二、乙方未按约定的验收标准和期限完成委托事项的，应在甲方或丙方书面通知后限期整改；经整改仍不合格的，"
    "甲方有权按未完成部分相应核减或收回工作经费。\n"
    "三、乙方应将工作经费专款专用于本协议约定的用途，不得截留、挪用；违反约定使用的，甲方有权收回相应经费，"
    "并依照有关规定追究责任。\n"
    "四、甲方不得以本协议名义向乙方增派本协议约定以外的工作事项；增派的，乙方有权拒绝。"
)
_BREACH_SELF_GOVERNANCE = (
    "一、本协议事项属居民自治事项，甲方负责指导和支持，应按约定提供工作条件和经费（如有）；"
    "未按约定提供的，乙方有权暂停办理，完成期限相应顺延。\n"
    "二、乙方未按约定的验收标准和期限完成的，应在甲方或丙方书面通知后限期整改。\n"
    "三、甲方不得以考核、检查、台账等方式增加乙方负担，不得以本协议名义向乙方增派约定以外的工作；"
    "增派的，乙方有权拒绝。\n"
    "四、涉及工作经费的，乙方应专款专用，不得截留、挪用。"
)
_BREACH_CERTIFICATE = (
    "一、乙方仅就其依法掌握的情况出具证明，对证明内容以外的事实不承担责任；甲方不得要求乙方出具法律法规"
    "和准入清单规定以外的证明。\n"
    "二、甲方未按本协议约定拨付工作经费或提供工作条件的，乙方有权暂停办理，完成期限相应顺延。\n"
    "三、乙方未按约定的验收标准和期限办理的，应在甲方或丙方书面通知后限期整改。\n"
    "四、工作经费应专款专用，不得截留、挪用。"
)
_VARIATION = (
    "一、协议履行期间，委托事项的内容、完成期限、工作经费数额或拨付方式确需调整的，由提出方书面说明理由，"
    "经三方协商一致后签订补充协议或重新签署协议。\n"
    "二、补充协议与本协议具有同等效力；未经三方书面确认的变更，对各方不具有约束力。\n"
    "三、因法律法规或政策调整致使本协议部分内容无法履行的，三方应及时协商变更。"
)
_TERMINATION = (
    "一、有下列情形之一的，本协议终止：（一）委托事项办理完毕，经甲方验收合格、丙方评价完成的；"
    "（二）三方协商一致终止的；（三）因法律法规、政策调整或者不可抗力致使协议目的无法实现的。\n"
    "二、协议生效后需要提前终止的，由甲方提出终止委托申请，说明终止理由及已拨付经费的处理方式"
    "（退回甲方或由乙方留用于已开展的工作），经丙方和乙方确认、财政部门核实退回款项后，按终止委托流程办结；"
    "终止委托流程办结前，本协议继续有效。\n"
    "三、协议终止的，乙方应自终止之日起十五个工作日内将已开展工作的情况和有关资料移交甲方。"
)
_DISPUTE = (
    "因履行本协议发生争议的，三方应本着平等、诚信的原则协商解决；协商不成的，提请区社区工作准入审核办公室"
    "协调处理；仍不能解决的，依法向甲方所在地有管辖权的人民法院提起诉讼。"
)
_OTHER = (
    "一、本协议未尽事宜，由三方协商解决，可另行签订补充协议。\n"
    "二、本协议一式三份，甲、乙、丙三方各执一份，具有同等效力，自三方签字盖章之日起生效。"
)


def _template(breach: str) -> dict[str, str]:
    return {
        "breach": breach,
        "variation": _VARIATION,
        "termination": _TERMINATION,
        "dispute": _DISPUTE,
        "other": _OTHER,
    }


DEFAULTS: dict[str, dict[str, str]] = {
    "assisted": _template(_BREACH_FUNDED),
    "self_governance": _template(_BREACH_SELF_GOVERNANCE),
    # never handed down (screened out at the start): a template all the same, so that every
    # category has one and a recategorised item drafts with the wording of its new category
    "negative": _template(_BREACH_FUNDED),
    "certificate_allowed": _template(_BREACH_CERTIFICATE),
    "certificate_forbidden": _template(_BREACH_CERTIFICATE),
    "unlisted": _template(_BREACH_FUNDED),
}


@dataclass(frozen=True)
class Template:
    """A category's clauses as in force: `updated_at` / `updated_by` are None for defaults."""

    category: str
    clauses: dict[str, str]
    updated_at: datetime | None = None
    updated_by: str | None = None  # the username of who last changed it


def _of(category: str, row: AgreementTemplate | None) -> Template:
    if row is None:
        return Template(category, dict(DEFAULTS[category]))
    who = row.updated_by.username if row.updated_by is not None else None
    clauses = {key: str(row.clauses.get(key, "")) for key in CLAUSES}
    return Template(category, clauses, row.updated_at, who)


def template(session: Session, category: str) -> Template:
    """The template of `category` (NotFound for a category requests cannot have)."""
    if category not in CATEGORIES:
        raise NotFound("no such category")
    return _of(category, session.get(AgreementTemplate, category))


def templates(session: Session) -> list[Template]:
    """Every category's template, in the order of CATEGORIES."""
    rows = {row.category: row for row in session.scalars(select(AgreementTemplate))}
    return [_of(category, rows.get(category)) for category in CATEGORIES]


def set_clauses(session: Session, category: str, clauses: Any, *, actor_id: int | None) -> Template:
    """An admin replaces the clauses of `category` (all of them: `breach`, `variation`,
    `termination`, `dispute` required, `other` may be empty). Refusals name `clauses.<key>`,
    with reasons for the pages (`workflows.admin.InvalidInput`); audited as
    `agreement_template.updated` with the clauses changed."""
    if category not in CATEGORIES:
        raise NotFound("no such category")
    problems = admin.Problems()
    if not isinstance(clauses, Mapping):
        problems.add("clauses", "invalid_name", "应为对象 must be an object")
        problems.refuse()
    problems.unknown({f"clauses.{key}": v for key, v in clauses.items()}, _named(CLAUSES))
    for key in CLAUSES:
        problems.text(
            f"clauses.{key}",
            clauses.get(key, ""),
            CLAUSE_MAX,
            required=key in REQUIRED,
            multiline=True,
        )
    problems.refuse()
    cleaned = {key: clauses.get(key, "").strip() for key in CLAUSES}
    row = session.get(AgreementTemplate, category)
    changed = [key for key in CLAUSES if _of(category, row).clauses[key] != cleaned[key]]
    if not changed:  # saved as it was: nothing to record
        return _of(category, row)
    if row is None:
        row = AgreementTemplate(category=category)
        session.add(row)
    row.clauses = cleaned
    row.updated_at = clock.now()
    row.updated_by_id = actor_id
    session.flush()
    session.refresh(row, ["updated_by"])
    audit.record(
        session, "agreement_template.updated", actor_id=actor_id, category=category, changed=changed
    )
    return _of(category, row)


def _named(keys: tuple[str, ...]) -> list[str]:
    return [f"clauses.{key}" for key in keys]
