"""statutory calendar as data: years, their holidays and adjusted working days; provisional dues

Revision ID: 0008
Revises: 0007

Working days follow the State Council's yearly notice. `calendar_year` holds the years entered
(from the `chinesecalendar` package, imported after every upgrade by `workflows.migrate`, or by an
admin), `calendar_day` the days that differ from Monday to Friday. A due date counted into a year
without a row is provisional: `task.due_provisional`, and `provisional_timer` keeps what to count
again when the year is entered.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("notice", sa.String(200), nullable=False, server_default=""),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), sa.ForeignKey("user_account.id")),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column(
            "year",
            sa.Integer(),
            sa.ForeignKey("calendar_year.year", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(40), nullable=False, server_default=""),
    )
    op.create_table(
        "provisional_timer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("spiff_id", sa.String(36), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("instance_id", "spiff_id"),
    )
    op.add_column(
        "task",
        sa.Column("due_provisional", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("task", "due_provisional")
    op.drop_table("provisional_timer")
    op.drop_table("calendar_day")
    op.drop_table("calendar_year")
