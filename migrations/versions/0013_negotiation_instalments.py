"""negotiation before signing and payment in instalments

Revision ID: 0013
Revises: 0012

The committee may counter-propose the amount, the deadline and the working conditions before it
signs; every move is a `negotiation_round`, and an agreement redrafted on agreed new terms counts
its `version`. A request states the working conditions it provides and its payment plan
(`payment_plan`, in fen; NULL for requests made before plans: everything on signing); each
transfer in the ledger names the `instalment` it pays.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "handoff_request", sa.Column("conditions", sa.Text(), nullable=False, server_default="")
    )
    op.add_column("handoff_request", sa.Column("payment_plan", sa.JSON()))
    op.add_column(
        "agreement", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("ledger_entry", sa.Column("instalment", sa.Integer()))
    op.create_table(
        "negotiation_round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False
        ),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("handoff_request.id")),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger()),
        sa.Column("due_date", sa.Date()),
        sa.Column("conditions", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user_account.id")),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_negotiation_round_instance_id", "negotiation_round", ["instance_id"])
    op.create_index("ix_negotiation_round_request_id", "negotiation_round", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_negotiation_round_request_id", "negotiation_round")
    op.drop_index("ix_negotiation_round_instance_id", "negotiation_round")
    op.drop_table("negotiation_round")
    with op.batch_alter_table("ledger_entry") as batch:
        batch.drop_column("instalment")
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("handoff_request") as batch:
        batch.drop_column("payment_plan")
        batch.drop_column("conditions")
