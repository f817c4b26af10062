"""The pages' blueprint and the small helpers the page modules share."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, request, url_for

from workflows.queries import Page

bp = Blueprint("web", __name__, url_prefix="/")

PER_PAGE = 20


def int_arg(name: str, default: int = 1, lo: int = 1, hi: int = 1_000_000) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, value))


def pager(page: Page, endpoint: str, param: str = "page", **values: Any) -> dict[str, Any]:
    """Paging links that keep the current query string (`param` names the page number)."""
    pages = max(1, math.ceil(page.total / page.per_page))
    args = {k: v for k, v in request.args.items() if k not in (param, "lang") and v != ""}
    args.update(values)

    def link(number: int) -> str:
        return url_for(endpoint, **{**args, param: number})

    return {
        "page": page.page,
        "pages": pages,
        "total": page.total,
        "prev": link(page.page - 1) if page.page > 1 else None,
        "next": link(page.page + 1) if page.page < pages else None,
    }


def form_text(name: str, limit: int = 20_000) -> str:
    """A posted text, trimmed and cut to `limit`. A value the service checks is cut one past
    its limit (`limit + 1`), so that one too long is refused there rather than cut to fit."""
    value = request.form.get(name, "")
    return value.strip()[:limit]
