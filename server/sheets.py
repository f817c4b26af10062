"""Worksheets for downloads: one sheet of a table, Chinese headers, money as numbers."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any


def safe(value: Any) -> Any:
    """Text without the control characters a worksheet cannot hold (openpyxl refuses them)."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def table_xlsx(
    title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], kinds: Sequence[str]
) -> bytes:
    """One sheet: the headers, bold, frozen; `kinds` per column: text | money | int."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe(value) for value in row])
    for index, kind in enumerate(kinds, start=1):
        fmt = {"money": "#,##0.00", "int": "0"}.get(kind)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
        sheet.column_dimensions[get_column_letter(index)].width = 16 if kind != "text" else 22
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
