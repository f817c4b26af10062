"""Attachments: add files to a task I may act on; list and download those of instances I see."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from workflows import attachments
from workflows.errors import Invalid

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import LocalDateTime
from .contract import accepts_upload, may_answer

blp = Blueprint("attachments", __name__, description="附件 Attachments")


class AttachmentOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.Function(lambda a: a.uploaded_by.username)
    uploaded_at = LocalDateTime()


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentOut))
    total = fields.Integer()


@blp.post("/tasks/<int:task_id>/attachments")
@blp.response(201, AttachmentOut)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
)
@may_answer(403, 409)  # not in my inbox; the task is no longer open
@accepts_upload(attachments.MAX_BYTES + 64 * 1024)
@login_required
def add_attachment(task_id):
    """Attach a file (PDF, image, Office document, text; at most 10 MB) to an open task."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("no file", {"file": "请选择文件 choose a file"})
    data = upload.read(attachments.MAX_BYTES + 1)
    return attachments.add(
        get_db(), task_id, current_actor(), upload.filename or "", upload.mimetype, data
    )


@blp.get("/instances/<int:instance_id>/attachments")
@blp.response(200, AttachmentList)
@login_required
def list_attachments(instance_id):
    with get_db().read() as session:
        items = attachments.of_instance(session, current_actor(), instance_id)
        return {"items": items, "total": len(items)}


@blp.get("/attachments/<int:attachment_id>")
@blp.response(200, content_type="application/octet-stream")
@login_required
def download_attachment(attachment_id):
    with get_db().read() as session:
        attachment, data = attachments.read(session, current_actor(), attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(
        data,
        mimetype=attachment.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
