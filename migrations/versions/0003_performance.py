"""performance: indexes for the inbox branches, overdue counts and due-date sorting

Revision ID: 0003
Revises: 0004 (see below)

The inbox is queried as disjoint branches (workflows/routing.inbox_branches), each served by one
index range:
  - (status, role, org_unit_id, created_at): the existing ix_task_inbox, one range per membership;
  - ix_task_assigned: tasks assigned or delegated to a user (partial: only claimed tasks, so
    the index stays small and its statistics honest even when almost no task is claimed);
  - ix_task_escalation: escalated tasks per escalation unit (partial likewise);
  - ix_task_inbox_due: (status, role, org_unit_id, due_at), so overdue counts and sorting by due
    date read one index range instead of every task of the scope.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

ASSIGNED = "assignee_id IS NOT NULL"
ESCALATED = "escalation_unit_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_assigned",
            ["assignee_id", "status", "created_at"],
            unique=False,
            sqlite_where=sa.text(ASSIGNED),
            postgresql_where=sa.text(ASSIGNED),
        )
        batch_op.create_index(
            "ix_task_escalation",
            ["escalation_unit_id", "status", "created_at"],
            unique=False,
            sqlite_where=sa.text(ESCALATED),
            postgresql_where=sa.text(ESCALATED),
        )
        batch_op.create_index(
            "ix_task_inbox_due", ["status", "role", "org_unit_id", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_inbox_due")
        batch_op.drop_index("ix_task_escalation")
        batch_op.drop_index("ix_task_assigned")
