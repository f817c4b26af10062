"""Attachments on the task page: upload to an open task, download within scope."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for

from workflows import attachments
from workflows.errors import Conflict, Forbidden, Invalid

from .. import get_db
from ..api.contract import accepts_upload
from . import signin
from .blueprint import bp
from .i18n import t


@bp.post("tasks/<int:task_id>/attachments")
@accepts_upload(attachments.MAX_BYTES + 64 * 1024)
@signin.login_required
def attachment_upload(task_id: int):
    upload = request.files.get("file")
    back = url_for("web.task", task_id=task_id) + "#attachments-title"
    if upload is None or not upload.filename:
        flash(t("attachments.file"), "error")
        return redirect(back)
    try:
        added = attachments.add(
            get_db(),
            task_id,
            signin.actor(),
            upload.filename,
            upload.mimetype,
            upload.read(attachments.MAX_BYTES + 1),
        )
    except Invalid as exc:
        flash("; ".join((exc.fields or {}).values()) or exc.message, "error")
        return redirect(back)
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(t("attachments.uploaded", name=added.filename), "ok")
    return redirect(back)


@bp.get("attachments/<int:attachment_id>")
@signin.login_required
def attachment_download(attachment_id: int):
    with get_db().read() as session:
        attachment, data = attachments.read(session, signin.actor(), attachment_id)
    return Response(
        data,
        mimetype=attachment.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
