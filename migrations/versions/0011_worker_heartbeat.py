"""worker heartbeat: when each timer worker was last seen, for /metrics

Revision ID: 0011
Revises: 0010

One row per running worker (`workflows/heartbeat.py`); `/metrics` exposes the seconds since each
worker's last beat. The table is tiny (one row per worker) and needs no index beyond its key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeat")
