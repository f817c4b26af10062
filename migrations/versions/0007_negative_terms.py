"""negative terms: each catalog item carries the words that name it in a request's text

Revision ID: 0007
Revises: 0006

The negative list (负面清单) is screened by what a request says, not only by its item code:
`catalog_item.terms` holds an item's terms and synonyms (a JSON list of strings, admin-edited).
Existing rows get an empty list; the entries of the shipped demo catalog (民发〔2015〕136号 and
《整治形式主义为基层减负若干规定》) get their terms here, matched by code *and* name so that a
catalog of one's own that happens to use the same codes is left alone. New entries of the demo
catalog (N08 环境整治, N09 城市管理) come with `flask seed-demo`, which is idempotent.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (code, name) of the demo catalog -> terms (kept in step with handoff/demo_data/catalog.json)
DEMO_TERMS = {
    ("N01", "招商引资任务指标"): ["招商引资", "招商"],
    ("N02", "协税护税任务指标"): ["协税护税", "代征税款"],
    ("N03", "经济创收任务指标"): ["经济创收"],
    ("N04", "以社区为责任主体的行政执法"): ["执法", "行政执法", "罚款"],
    ("N05", "以社区为责任主体的拆迁拆违"): ["拆迁拆违", "拆迁", "违建拆除"],
    ("N06", "摊派商业保险、报刊订阅"): ["摊派", "商业保险", "报刊订阅", "订阅报刊"],
    ("N07", "与社区签订责任状、实行一票否决"): ["责任状", "一票否决"],
}


def upgrade() -> None:
    op.add_column(
        "catalog_item",
        sa.Column("terms", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    catalog = sa.table(
        "catalog_item",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("terms", sa.JSON),
    )
    for (code, name), terms in DEMO_TERMS.items():
        op.execute(
            catalog.update()
            .where(catalog.c.code == code, catalog.c.name == name)
            .values(terms=terms)
        )


def downgrade() -> None:
    op.drop_column("catalog_item", "terms")
