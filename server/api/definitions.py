"""Process definitions: versions, their start forms and diagrams; start an instance; admins
deploy, suspend, activate and choose the version in force."""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import select

from workflows import audit, definitions, diagram, queries, roles, starting
from workflows.errors import Invalid, NotFound
from workflows.models import ProcessDefinition
from workflows.queries import paged

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import (
    DefinitionDetailOut,
    DefinitionPage,
    DeployOut,
    InstanceOut,
    PageQuery,
    StartIn,
)
from ..views import With
from .contract import may_answer
from .instances import instance_body
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
        page = paged(session, stmt, q["page"], q["per_page"])
        in_force = definitions.released_ids(session)
        page.items = [With(d, in_force=d.id in in_force) for d in page.items]
        return page_body(page)


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
        definition, created = definitions.deploy(
            session, xml, current_actor().user_id, roles=roles.role_keys(session)
        )
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


def _definition(session, definition_id: int) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound("process definition not found")
    return definition


def definition_detail(session, definition: ProcessDefinition) -> With:
    """A version with its start form, tasks and instance counts, as the actor may use it."""
    parsed = definitions.loaded(definition)
    return With(
        definition,
        documentation=parsed.documentation,
        start_form=parsed.start_form.describe(),
        starter_roles=sorted(parsed.starter_roles),
        may_start=starting.may_start(current_actor(), parsed),
        user_tasks=[
            {"key": t.key, "name": t.name, "role": t.role or None, "assignee": t.assignee}
            for t in parsed.user_tasks.values()
        ],
        instances=queries.instance_counts(session).get(definition.id, {}),
        in_force=definition.id in definitions.released_ids(session),
    )


@blp.get("/process-definitions/<int:definition_id>")
@blp.response(200, DefinitionDetailOut)
@login_required
def get_definition(definition_id):
    """One version: its start form (the start event's camunda:formData), who may start it,
    its user tasks and how many instances it has by state."""
    with get_db().read() as session:
        return definition_detail(session, _definition(session, definition_id))


@blp.get("/process-definitions/<int:definition_id>/xml")
@blp.response(200, content_type="application/xml")
@login_required
def definition_xml(definition_id):
    """The BPMN file as deployed."""
    with get_db().read() as session:
        xml = _definition(session, definition_id).bpmn_xml
    return Response(xml, mimetype="application/xml")


@blp.get("/process-definitions/<int:definition_id>/diagram.svg")
@blp.response(200, content_type="image/svg+xml")
@login_required
def definition_diagram(definition_id):
    with get_db().read() as session:
        definition = _definition(session, definition_id)
        svg = diagram.render_svg(definition.bpmn_xml, {}, title=definition.name)
    return Response(svg, mimetype="image/svg+xml")


def _admin_change(definition_id: int, action: str, change) -> With:
    with get_db().write() as session:
        definition = _definition(session, definition_id)
        change(session, definition)
        audit.record(
            session,
            action,
            actor_id=current_actor().user_id,
            key=definition.key,
            version=definition.version,
        )
        return definition_detail(session, definition)


@blp.post("/process-definitions/<int:definition_id>/suspend")
@blp.response(200, DefinitionDetailOut)
@admin_required
def suspend(definition_id):
    """New instances may not start on this version (409); running ones carry on."""
    return _admin_change(
        definition_id,
        "definition.suspended",
        lambda session, d: definitions.set_suspended(session, d, True),
    )


@blp.post("/process-definitions/<int:definition_id>/activate")
@blp.response(200, DefinitionDetailOut)
@admin_required
def activate(definition_id):
    """Lift a suspension."""
    return _admin_change(
        definition_id,
        "definition.activated",
        lambda session, d: definitions.set_suspended(session, d, False),
    )


@blp.post("/process-definitions/<int:definition_id>/release")
@blp.response(200, DefinitionDetailOut)
@admin_required
def release(definition_id):
    """New instances of this key start on this version from now on (an older one rolls back);
    it is activated if it was suspended."""
    return _admin_change(
        definition_id,
        "definition.released",
        lambda session, d: definitions.release(session, d, current_actor().user_id),
    )


@blp.post("/process-definitions/<key>/start")
@blp.arguments(StartIn)
@blp.response(201, InstanceOut)
@may_answer(403, 404, 409)
@login_required
def start(body, key):
    """Start the version of `key` in force with the start form's data. The roles that may
    start it are the process's camunda:candidateStarterGroups; a suspended version is 409."""
    db = get_db()
    instance = starting.start_process(
        db, key, current_actor(), body.get("data"), business_key=body.get("business_key")
    )
    with db.read() as session:
        return instance_body(session, instance.id)
