"""termination: a signed agreement ends by termination, not by cancelling

Revision ID: 0009
Revises: 0008

Once all three parties have signed, a handoff is no longer cancelled but terminated through its
own process (`bpmn/handoff_termination.bpmn`). The agreement keeps when and why it was
terminated; `handoff_termination` links each termination instance to the handoff it would end
(one pending at a time). The ledger's `kind` (String(16)) takes the new kinds `refunded` and
`kept` as it is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agreement", sa.Column("terminated_at", sa.DateTime(timezone=True)))
    op.add_column("agreement", sa.Column("termination_reason", sa.Text()))
    op.create_table(
        "handoff_termination",
        sa.Column(
            "instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instance.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "handoff_instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instance.id"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_handoff_termination_handoff_instance_id",
        "handoff_termination",
        ["handoff_instance_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_termination_handoff_instance_id", "handoff_termination")
    op.drop_table("handoff_termination")
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("termination_reason")
        batch.drop_column("terminated_at")
