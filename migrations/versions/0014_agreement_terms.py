"""agreement terms: org units' full legal names, the requests' agreement terms, and the
agreement templates (the fixed clauses of each catalog category), seeded with their defaults

Revision ID: 0014
Revises: 0013

`org_unit.legal_name` is what a document names a unit by (海明社区居民委员会); NULL means its name.
`handoff_request.terms` holds the variable terms the department filled in (contacts, authority,
acceptance standard, permitted use of the money, start date). `agreement_template` holds one row
per category; the clauses below are a frozen copy of `handoff.agreement_templates.DEFAULTS` as
they were when this migration was written (an agreement copies the clauses in force when it is
drafted, so later edits never change one drafted before).
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)

BREACH_FUNDED = (
    "一、甲方未按本协议约定拨付工作经费或提供工作条件的，乙方有权暂停办理委托事项，完成期限相应顺延；由此影响工作进度或造成损失的，由甲方承担相应责任。\n"
    "二、乙方未按约定的验收标准和期限完成委托事项的，应在甲方或丙方书面通知后限期整改；经整改仍不合格的，甲方有权按未完成部分相应核减或收回工作经费。\n"
    "三、乙方应将工作经费专款专用于本协议约定的用途，不得截留、挪用；违反约定使用的，甲方有权收回相应经费，并依照有关规定追究责任。\n"
    "四、甲方不得以本协议名义向乙方增派本协议约定以外的工作事项；增派的，乙方有权拒绝。"
)
BREACH_SELF_GOVERNANCE = (
    "一、本协议事项属居民自治事项，甲方负责指导和支持，应按约定提供工作条件和经费（如有）；未按约定提供的，乙方有权暂停办理，完成期限相应顺延。\n"
    "二、乙方未按约定的验收标准和期限完成的，应在甲方或丙方书面通知后限期整改。\n"
    "三、甲方不得以考核、检查、台账等方式增加乙方负担，不得以本协议名义向乙方增派约定以外的工作；增派的，乙方有权拒绝。\n"
    "四、涉及工作经费的，乙方应专款专用，不得截留、挪用。"
)
BREACH_CERTIFICATE = (
    "一、乙方仅就其依法掌握的情况出具证明，对证明内容以外的事实不承担责任；甲方不得要求乙方出具法律法规和准入清单规定以外的证明。\n"
    "二、甲方未按本协议约定拨付工作经费或提供工作条件的，乙方有权暂停办理，完成期限相应顺延。\n"
    "三、乙方未按约定的验收标准和期限办理的，应在甲方或丙方书面通知后限期整改。\n"
    "四、工作经费应专款专用，不得截留、挪用。"
)
VARIATION = (
    "一、协议履行期间，委托事项的内容、完成期限、工作经费数额或拨付方式确需调整的，由提出方书面说明理由，经三方协商一致后签订补充协议或重新签署协议。\n"
    "二、补充协议与本协议具有同等效力；未经三方书面确认的变更，对各方不具有约束力。\n"
    "三、因法律法规或政策调整致使本协议部分内容无法履行的，三方应及时协商变更。"
)
TERMINATION = (
    "一、有下列情形之一的，本协议终止：（一）委托事项办理完毕，经甲方验收合格、丙方评价完成的；（二）三方协商一致终止的；（三）因法律法规、政策调整或者不可抗力致使协议目的无法实现的。\n"
    "二、协议生效后需要提前终止的，由甲方提出终止委托申请，说明终止理由及已拨付经费的处理方式（退回甲方或由乙方留用于已开展的工作），经丙方和乙方确认、财政部门核实退回款项后，按终止委托流程办结；终止委托流程办结前，本协议继续有效。\n"
    "三、协议终止的，乙方应自终止之日起十五个工作日内将已开展工作的情况和有关资料移交甲方。"
)
DISPUTE = (
    "因履行本协议发生争议的，三方应本着平等、诚信的原则协商解决；协商不成的，提请区社区工作准入审核办公室协调处理；仍不能解决的，依法向甲方所在地有管辖权的人民法院提起诉讼。"
)
OTHER = (
    "一、本协议未尽事宜，由三方协商解决，可另行签订补充协议。\n"
    "二、本协议一式三份，甲、乙、丙三方各执一份，具有同等效力，自三方签字盖章之日起生效。"
)


def _clauses(breach: str) -> dict:
    return {
        "breach": breach,
        "variation": VARIATION,
        "termination": TERMINATION,
        "dispute": DISPUTE,
        "other": OTHER,
    }


DEFAULTS = {
    "assisted": _clauses(BREACH_FUNDED),
    "self_governance": _clauses(BREACH_SELF_GOVERNANCE),
    "negative": _clauses(BREACH_FUNDED),
    "certificate_allowed": _clauses(BREACH_CERTIFICATE),
    "certificate_forbidden": _clauses(BREACH_CERTIFICATE),
    "unlisted": _clauses(BREACH_FUNDED),
}


def upgrade() -> None:
    op.add_column("org_unit", sa.Column("legal_name", sa.String(200)))
    op.add_column("handoff_request", sa.Column("terms", sa.JSON()))
    template = op.create_table(
        "agreement_template",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("clauses", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column(
            "updated_by_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(
        template,
        [{"category": c, "clauses": clauses, "updated_at": now} for c, clauses in DEFAULTS.items()],
    )


def downgrade() -> None:
    op.drop_table("agreement_template")
    with op.batch_alter_table("handoff_request") as batch:
        batch.drop_column("terms")
    with op.batch_alter_table("org_unit") as batch:
        batch.drop_column("legal_name")
