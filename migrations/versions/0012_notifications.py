"""notifications: the outbox, its dedupe keys, webhooks per org unit, channel preferences, scan
marks; users get an e-mail address

Revision ID: 0012
Revises: 0011

Messages are written in the transaction of the state change that causes them and delivered by
`flask notify-worker` (notifications/). `notification_key` holds each item's key once per
recipient and channel, so nothing is enqueued twice; `notification_scan` marks the tasks the
due-soon and overdue scanners have told about.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("user_account", sa.Column("email", sa.String(254)))
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "org_unit_id",
            sa.Integer(),
            sa.ForeignKey("org_unit.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column(
            "created_by_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
    )
    op.create_index("ix_webhook_org_unit_id", "webhook", ["org_unit_id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="CASCADE")),
        sa.Column("webhook_id", sa.Integer(), sa.ForeignKey("webhook.id", ondelete="SET NULL")),
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", ondelete="CASCADE")),
        sa.Column("address", sa.String(254)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTC),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC),
        sa.Column("last_error", sa.Text()),
        sa.Column("read_at", UTC),
    )
    op.create_index("ix_notification_due", "notification", ["status", "next_attempt_at"])
    op.create_index("ix_notification_inbox", "notification", ["user_id", "channel", "read_at"])
    op.create_index("ix_notification_webhook_id", "notification", ["webhook_id"])
    op.create_table(
        "notification_key",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("recipient", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column(
            "notification_id",
            sa.Integer(),
            sa.ForeignKey("notification.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_notification_key_notification_id", "notification_key", ["notification_id"])
    op.create_table(
        "notification_preference",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    )
    op.create_table(
        "notification_scan",
        sa.Column(
            "task_id",
            sa.Integer(),
            sa.ForeignKey("task.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("at", UTC, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_scan")
    op.drop_table("notification_preference")
    op.drop_index("ix_notification_key_notification_id", "notification_key")
    op.drop_table("notification_key")
    op.drop_index("ix_notification_webhook_id", "notification")
    op.drop_index("ix_notification_inbox", "notification")
    op.drop_index("ix_notification_due", "notification")
    op.drop_table("notification")
    op.drop_index("ix_webhook_org_unit_id", "webhook")
    op.drop_table("webhook")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("email")
