"""resident surveys: 居民评议 of a handoff's work, its ratings, and the weights of the combined
score per catalog category

Revision ID: 0015
Revises: 0014

`resident_survey` is a handoff's public survey (one per handoff, named by an unguessable token);
`resident_rating` its ratings, one per device and day by a unique constraint, with only HMAC
digests of the device and the address; `evaluation_weights` the street / department / residents
weights of a category (percent adding up to 100; a category without a row has the defaults).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "resident_survey",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False
        ),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), sa.ForeignKey("user_account.id")),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("closes_at", UTC, nullable=False),
        sa.Column("max_ratings", sa.Integer()),
        sa.Column("closed_at", UTC),
        sa.Column("closed_by", sa.String(16)),
        sa.UniqueConstraint("instance_id"),
        sa.UniqueConstraint("token"),
    )
    op.create_table(
        "resident_rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "survey_id",
            sa.Integer(),
            sa.ForeignKey("resident_survey.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("fresh_device", sa.Boolean(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.String(500), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.UniqueConstraint(
            "survey_id", "device_hash", "day", name="uq_resident_rating_device_day"
        ),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_resident_rating_score"),
    )
    op.create_index("ix_resident_rating_survey_id", "resident_rating", ["survey_id"])
    op.create_index(
        "ix_resident_rating_address", "resident_rating", ["survey_id", "address_hash", "day"]
    )
    op.create_table(
        "evaluation_weights",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("street", sa.Integer(), nullable=False),
        sa.Column("department", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("user_account.id")),
        sa.CheckConstraint(
            "street >= 0 AND department >= 0 AND residents >= 0 "
            "AND street + department + residents = 100",
            name="ck_evaluation_weights_sum",
        ),
    )


def downgrade() -> None:
    op.drop_table("evaluation_weights")
    op.drop_index("ix_resident_rating_address", "resident_rating")
    op.drop_index("ix_resident_rating_survey_id", "resident_rating")
    op.drop_table("resident_rating")
    op.drop_table("resident_survey")
