"""sign-in: throttled per client address and per name from an address; web sessions end on the
server

Revision ID: 0010
Revises: 0009

The per-account lockout (`user_account.failed_logins`, `locked_until`) let anyone lock a real user
out with five wrong passwords; it is replaced by `login_throttle`, counted per address and per
(address, name), so the right password from an address that has not been guessing always works.
A web sign-in is now a server-side session: a row of `api_token` with `kind` web, revoked by
signing out.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
    )
    op.add_column(
        "api_token", sa.Column("kind", sa.String(8), nullable=False, server_default="api")
    )
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
    op.drop_column("api_token", "kind")
    op.drop_table("login_throttle")
