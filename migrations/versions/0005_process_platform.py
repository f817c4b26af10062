"""process platform: roles as data, generic instances (business key, starter), messages,
version choice; the handoff's link to its instances moves into a table of its own

Revision ID: 0005
Revises: 0003

- role: the five roles of the handoff and admin, seeded; admins add more.
- process_definition.suspended, process_release (the version new instances start on); the
  unique (key, content_hash) goes: re-deploying an older file is a new version (a rollback).
- process_instance.business_key / started_by_id, task.business_key, audit_event.business_key
  replace request_id / community_id; handoff_instance (instance -> request, community) keeps
  the handoff's link. Existing rows are carried over: the business key of a handoff is its
  request number, its starter the request's author.
- message_subscription: instances waiting for a message, by name.
- catalog_item: an effective period per entry (the annual review changes an item from a date
  and keeps the old entry), the funding standard and the responsible department.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite keeps 0001's constraints unnamed; batch mode names them by these when it reflects
SQLITE_NAMES = {
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}
ROLES = [
    ("department", "职能部门", "Department officer", "department"),
    ("street_office", "街道办事处", "Street office", "street"),
    ("district_reviewer", "区准入审核办", "District access office", "access_office"),
    ("committee", "社区居委会", "Residents' committee", "community"),
    ("finance", "财政", "Finance office", "finance"),
    ("admin", "系统管理员", "Administrator", "district"),
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _batch(table: str):
    if _sqlite():
        return op.batch_alter_table(table, recreate="always", naming_convention=SQLITE_NAMES)
    return op.batch_alter_table(table)


def upgrade() -> None:
    role = op.create_table(
        "role",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("unit_kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # seeded in order, a second apart, so the list keeps this order
    op.bulk_insert(
        role,
        [
            {
                "key": k,
                "name_zh": zh,
                "name_en": en,
                "unit_kind": kind,
                "created_at": _stamp(i),
            }
            for i, (k, zh, en, kind) in enumerate(ROLES)
        ],
    )
    _definitions()
    _instances()
    _catalog()


def _stamp(i: int):
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
    return moment.replace(tzinfo=None) if _sqlite() else moment


def _definitions() -> None:
    with _batch("process_definition") as batch:
        batch.add_column(
            sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        if _sqlite():
            batch.drop_constraint("uq_process_definition_key_content_hash", type_="unique")
        else:
            batch.drop_constraint("process_definition_key_content_hash_key", type_="unique")
    op.create_table(
        "process_release",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definition.id"]),
        sa.ForeignKeyConstraint(["chosen_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("key"),
    )


def _instances() -> None:
    op.create_table(
        "handoff_instance",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["handoff_request.id"]),
        sa.ForeignKeyConstraint(["community_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_index("ix_handoff_instance_request_id", "handoff_instance", ["request_id"])
    op.create_index("ix_handoff_instance_community_id", "handoff_instance", ["community_id"])
    op.create_table(
        "message_subscription",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("instance_id", "name"),
    )
    op.create_index("ix_subscription_name", "message_subscription", ["name", "instance_id"])
    op.add_column("process_instance", sa.Column("business_key", sa.String(100), nullable=True))
    op.add_column("process_instance", sa.Column("started_by_id", sa.Integer(), nullable=True))
    op.add_column("task", sa.Column("business_key", sa.String(100), nullable=True))
    op.add_column("audit_event", sa.Column("business_key", sa.String(100), nullable=True))
    _carry_over()
    with _batch("process_instance") as batch:
        batch.drop_index("ix_process_instance_request_id")
        batch.drop_index("ix_process_instance_community_id")
        if _sqlite():
            batch.drop_constraint("fk_process_instance_request_id_handoff_request", "foreignkey")
            batch.drop_constraint("fk_process_instance_community_id_org_unit", "foreignkey")
        batch.drop_column("request_id")
        batch.drop_column("community_id")
        batch.create_foreign_key(
            "fk_process_instance_started_by_id_user_account",
            "user_account",
            ["started_by_id"],
            ["id"],
        )
        batch.create_index("ix_process_instance_business_key", ["business_key"])
        batch.create_index("ix_process_instance_started_by_id", ["started_by_id"])
    for table in ("task", "audit_event"):
        with _batch(table) as batch:
            batch.drop_index(f"ix_{table}_request_id")
            if _sqlite():
                batch.drop_constraint(f"fk_{table}_request_id_handoff_request", "foreignkey")
            batch.drop_column("request_id")
            batch.create_index(f"ix_{table}_business_key", ["business_key"])


def _carry_over() -> None:
    op.execute(
        "INSERT INTO handoff_instance (instance_id, request_id, community_id) "
        "SELECT id, request_id, community_id FROM process_instance "
        "WHERE request_id IS NOT NULL AND community_id IS NOT NULL"
    )
    op.execute(
        "UPDATE process_instance SET "
        "business_key = (SELECT number FROM handoff_request r WHERE r.id = request_id), "
        "started_by_id = (SELECT created_by_id FROM handoff_request r WHERE r.id = request_id) "
        "WHERE request_id IS NOT NULL"
    )
    op.execute(
        "UPDATE task SET business_key = "
        "(SELECT business_key FROM process_instance i WHERE i.id = task.instance_id)"
    )
    # the append-only trigger of 0001 lets no one rewrite the trail, this migration included:
    # it steps aside for this one UPDATE, which only adds the key the row already implied
    if not _sqlite():
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    op.execute(
        "UPDATE audit_event SET business_key = "
        "(SELECT number FROM handoff_request r WHERE r.id = audit_event.request_id) "
        "WHERE request_id IS NOT NULL"
    )
    if not _sqlite():
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update")


def _catalog() -> None:
    with _batch("catalog_item") as batch:
        batch.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("effective_to", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("funding_standard_fen", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("responsible_department", sa.String(64), nullable=False, server_default="")
        )
        if _sqlite():
            batch.drop_constraint("uq_catalog_item_code", type_="unique")
        else:
            batch.drop_constraint("catalog_item_code_key", type_="unique")
        batch.create_unique_constraint(
            "uq_catalog_item_code_effective_from", ["code", "effective_from"]
        )
        batch.create_index("ix_catalog_item_code", ["code"])


def downgrade() -> None:
    raise NotImplementedError("0005 carries data forward; restore a backup to go back")
