"""The list envelope of every list endpoint: {items, total, page, per_page}."""

from __future__ import annotations

from workflows.queries import Page


def page_body(page: Page) -> dict:
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}
