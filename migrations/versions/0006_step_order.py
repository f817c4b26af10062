"""step order: which engine step opened a task and recorded a money entry

Revision ID: 0006
Revises: 0005

"Before" is decided by what happened, not by two clock reads in one transaction: every engine
step counts up `process_instance.lock_version`; a task row keeps the step that opened it and a
ledger entry the step that recorded it, so "the work task was opened before the money" compares
steps. Rows from before this migration get step 0: the BPMN never opened work before funding, so
for them a transfer at all is what counts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "task", sa.Column("opened_step", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "ledger_entry", sa.Column("step", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("ledger_entry", "step")
    op.drop_column("task", "opened_step")
