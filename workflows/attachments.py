"""Attachments to tasks (e.g. the committee's work report), kept in a configurable store.

`ATTACHMENT_STORE` chooses where the bytes live: `db` (the default: in the database, so app hosts
need no shared disk) or `dir:/path` (a directory every host mounts). The row and, for the
database store, the bytes commit in the task's transaction with their audit event.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, inputs
from .db import Database
from .errors import Invalid, NotFound
from .inputs import column_length
from .models import Attachment, AttachmentBlob
from .queries import instance_for
from .service import Actor, ensure_actionable, locked_task

MAX_BYTES = 10 * 1024 * 1024
ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.ms-excel",
}
_MAGIC = {  # what the first bytes must be, where the format has a signature
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


class Store(Protocol):
    def put(self, session: Session, key: str, data: bytes) -> None: ...

    def get(self, session: Session, key: str) -> bytes: ...


class DatabaseStore:
    def put(self, session: Session, key: str, data: bytes) -> None:
        session.add(AttachmentBlob(storage_key=key, content=data))

    def get(self, session: Session, key: str) -> bytes:
        blob = session.get(AttachmentBlob, key)
        if blob is None:
            raise NotFound("attachment content missing")
        return blob.content


class DirectoryStore:
    """Files under a directory shared by every host (a mount); written before the commit."""

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def put(self, session: Session, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, session: Session, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("attachment content missing") from None


def configured_store() -> Store:
    setting = os.environ.get("ATTACHMENT_STORE", "db")
    if setting.startswith("dir:"):
        return DirectoryStore(setting[4:])
    return DatabaseStore()


FILENAME_MAX = column_length(Attachment.filename)


def clean_filename(name: str) -> str:
    """The name a file is kept under: its last path part, without control characters or the
    characters file systems refuse, cut to its column (keeping a short extension); a name with
    nothing visible left is `attachment`. A file's name is not refused: it is what the browser
    sent, not what the user typed."""
    name = Path(name.replace("\\", "/")).name
    if not inputs.visible(inputs.UNSTORABLE.sub("", inputs.ONE_LINE_CONTROL.sub("", name))):
        return "attachment"
    name = inputs.UNSTORABLE.sub("_", inputs.ONE_LINE_CONTROL.sub("_", name))
    name = re.sub(r"[<>:\"/|?*]", "_", name).strip(" .") or "attachment"
    if len(name) > FILENAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: FILENAME_MAX - len(ext)] + ext
    return name


def _check(filename: str, content_type: str, data: bytes) -> None:
    errors = {}
    if not data:
        errors["file"] = "文件为空 empty file"
    elif len(data) > MAX_BYTES:
        errors["file"] = f"文件不能超过 {MAX_BYTES // 1024 // 1024} MB file too large"
    if content_type not in ALLOWED_TYPES:
        errors["file"] = "不支持的文件类型 unsupported file type"
    elif data and not data.startswith(_MAGIC.get(content_type, (b"",))):
        errors["file"] = "文件内容与类型不符 content does not match its type"
    if errors:
        raise Invalid("invalid attachment", errors)


def add(
    db: Database,
    task_id: int,
    actor: Actor,
    filename: str,
    content_type: str,
    data: bytes,
    store: Store | None = None,
) -> Attachment:
    """Attach a file to an open task the actor may act on."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    _check(filename, content_type, data)
    store = store or configured_store()
    with db.write() as session:
        task, instance = locked_task(session, task_id)
        ensure_actionable(task, actor)
        key = uuid.uuid4().hex
        store.put(session, key, data)
        attachment = Attachment(
            instance_id=instance.id,
            task_id=task.id,
            filename=clean_filename(filename),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            uploaded_by_id=actor.user_id,
        )
        session.add(attachment)
        session.flush()
        audit.record(
            session,
            "attachment.added",
            actor_id=actor.user_id,
            instance_id=instance.id,
            business_key=instance.business_key,
            task_id=task.id,
            filename=attachment.filename,
            size=attachment.size,
            sha256=attachment.sha256,
        )
        _ = attachment.uploaded_by
        return attachment


def of_instance(session: Session, actor: Actor, instance_id: int) -> list[Attachment]:
    instance_for(session, actor, instance_id)
    return list(
        session.scalars(
            select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id)
        )
    )


def read(
    session: Session, actor: Actor, attachment_id: int, store: Store | None = None
) -> tuple[Attachment, bytes]:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment not found")
    instance_for(session, actor, attachment.instance_id)  # NotFound outside the reader's scope
    return attachment, (store or configured_store()).get(session, attachment.storage_key)
