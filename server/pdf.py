"""HTML to PDF with WeasyPrint (the printed agreement, `server.web.agreement_doc`).

WeasyPrint lays out with pango and draws Chinese with the fonts fontconfig finds: Debian's
libpango-1.0-0, libpangoft2-1.0-0 and fonts-noto-cjk (README, "PDF"). Where they are missing the
import fails (OSError from the C libraries): the service runs on, and a PDF is a 503 that says
why instead of a 500. The HTML is the service's own template with the data escaped, and has no
links to fetch: only the stylesheets given are applied.
"""

from __future__ import annotations

import logging
from pathlib import Path

from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)
# WeasyPrint reports each step of each document at INFO: not a line per step in the service's log
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class PdfUnavailable(ServiceUnavailable):
    description = (
        "无法生成 PDF：服务器未安装 PDF 组件 PDF rendering is not available on this server"
    )


def render(html: str, stylesheets: list[Path]) -> bytes:
    """The PDF of `html` laid out with `stylesheets` (print media)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # the package, or pango and its fonts, missing
        log.error("PDF rendering unavailable: %s", exc)
        raise PdfUnavailable() from None
    sheets = [weasyprint.CSS(string=path.read_text(encoding="utf-8")) for path in stylesheets]
    return weasyprint.HTML(string=html).write_pdf(stylesheets=sheets)
