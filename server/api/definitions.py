"""Process definitions: list versions; admins deploy BPMN files."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select

from workflows import audit, definitions
from workflows.errors import Invalid
from workflows.models import ProcessDefinition
from workflows.queries import _paged

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import DefinitionPage, DeployOut, PageQuery
from .paging import page_body

blp = Blueprint("definitions", __name__, description="流程定义 Process definitions")


@blp.get("/process-definitions")
@blp.arguments(PageQuery, location="query")
@blp.response(200, DefinitionPage)
@login_required
def list_definitions(q):
    with get_db().read() as session:
        order = ProcessDefinition.id.asc() if q["order"] == "asc" else ProcessDefinition.id.desc()
        stmt = select(ProcessDefinition).order_by(order)
        return page_body(_paged(session, stmt, q["page"], q["per_page"]))


@blp.post("/process-definitions")
@blp.response(201, DeployOut)
@blp.alt_response(200, schema=DeployOut, description="unchanged file: the existing version")
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
)
@admin_required
def deploy():
    """Deploy a BPMN file as a new version (an unchanged file is not a new version)."""
    upload = request.files.get("file")
    xml = upload.read() if upload is not None else request.get_data()
    if not xml:
        raise Invalid("no BPMN given", {"file": "请上传 BPMN 文件 upload a BPMN file"})
    try:
        xml.decode("utf-8")  # stored as text: a file in another encoding cannot be kept as it is
    except UnicodeDecodeError:
        raise Invalid(
            "BPMN files must be UTF-8", {"file": "BPMN 文件须为 UTF-8 编码 must be UTF-8"}
        ) from None
    with get_db().write() as session:
        definition, created = definitions.deploy(session, xml, current_actor().user_id)
        if created:
            audit.record(
                session,
                "definition.deployed",
                actor_id=current_actor().user_id,
                key=definition.key,
                version=definition.version,
            )
        definition.created = created
        return definition, 201 if created else 200
