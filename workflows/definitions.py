"""Process definitions: parse and check BPMN, deploy it as a version, cache the parsed spec.

A deployed definition never changes, so its parsed spec is cached by id for the life of the
process; running instances keep the definition id they started with.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import evaluator
from .forms import FIELD_TYPES, Form, from_camunda
from .models import ProcessDefinition
from .routing import TASK_ROLES

MAX_BPMN_BYTES = 2_000_000
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}


class DefinitionError(ValueError):
    """A BPMN file that cannot be deployed; says which element and why."""

    def __init__(self, message: str, element: str | None = None):
        super().__init__(f"{element}: {message}" if element else message)
        self.element = element
        self.reason = message


@dataclass(frozen=True)
class UserTaskInfo:
    key: str
    name: str
    role: str
    form: Form


@dataclass(frozen=True)
class ParsedProcess:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]


def _safe_xml(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionError(f"file too large (> {MAX_BPMN_BYTES} bytes)")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise DefinitionError("DOCTYPE declarations are not allowed")
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise DefinitionError("not a BPMN 2.0 file: the root must be bpmn:definitions")
    return root


def _executable_process(root: etree._Element) -> etree._Element:
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
    if len(executable) != 1:
        raise DefinitionError(
            f"a file must hold exactly one executable process, found {len(executable)}"
        )
    return executable[0]


def _check_lanes(process: etree._Element) -> None:
    for lane in process.iterfind(".//bpmn:lane", NS):
        if lane.get("name") not in TASK_ROLES:
            raise DefinitionError(
                f"lane name {lane.get('name')!r} is not a known role "
                f"(expected one of {', '.join(TASK_ROLES)})",
                lane.get("id"),
            )
    in_lane = {ref.text.strip() for ref in process.iterfind(".//bpmn:flowNodeRef", NS) if ref.text}
    for task in process.iterfind(".//bpmn:userTask", NS):
        if task.get("id") not in in_lane:
            raise DefinitionError("user task lies outside any lane (no role)", task.get("id"))


def _check_expressions(process: etree._Element) -> None:
    checks = [
        (".//bpmn:conditionExpression", "eval"),
        (".//bpmn:timeDate", "eval"),
        (".//bpmn:timeDuration", "eval"),
        (".//bpmn:timeCycle", "eval"),
        (".//bpmn:scriptTask/bpmn:script", "exec"),
    ]
    for path, mode in checks:
        for node in process.iterfind(path, NS):
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            try:
                evaluator.validate(node.text or "", mode=mode)
            except evaluator.ExpressionError as exc:
                element = owner.get("id") if owner is not None else None
                raise DefinitionError(f"refused expression: {exc}", element) from None


def _user_tasks(spec: BpmnProcessSpec) -> dict[str, UserTaskInfo]:
    tasks = {}
    for ts in spec.task_specs.values():
        if not getattr(ts, "manual", False):
            continue
        form = from_camunda(getattr(ts, "form", None))
        for f in form.fields:
            if f.type not in FIELD_TYPES:
                raise DefinitionError(f"form field {f.id!r} has unknown type {f.type!r}", ts.name)
        tasks[ts.name] = UserTaskInfo(ts.name, ts.bpmn_name or ts.name, ts.lane, form)
    return tasks


def parse_bpmn(xml: str | bytes) -> ParsedProcess:
    """Parse and check a BPMN file; DefinitionError names the element and the reason."""
    root = _safe_xml(xml)
    process = _executable_process(root)
    if root.find(".//bpmndi:BPMNDiagram", NS) is None:
        raise DefinitionError("the file has no diagram interchange (BPMNDI) to draw")
    _check_lanes(process)
    _check_expressions(process)
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(root, filename="upload.bpmn")
        key = process.get("id")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DefinitionError(str(exc.args[0] if exc.args else exc), exc.id or None) from None
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DefinitionError(f"cannot be parsed: {exc}") from None
    return ParsedProcess(
        key=key,
        name=process.get("name") or key,
        spec=spec,
        subprocess_specs=subprocess_specs,
        user_tasks=_user_tasks(spec),
    )


def content_hash(xml: str | bytes) -> str:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return hashlib.sha256(data).hexdigest()


def deploy(
    session: Session, xml: str | bytes, deployed_by_id: int | None = None
) -> tuple[ProcessDefinition, bool]:
    """Deploy a file as the next version of its process; an unchanged file is not a new one."""
    parsed = parse_bpmn(xml)
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    digest = content_hash(text)
    existing = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.key == parsed.key, ProcessDefinition.content_hash == digest
        )
    )
    if existing is not None:
        return existing, False
    last = session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == parsed.key)
    )
    definition = ProcessDefinition(
        key=parsed.key,
        name=parsed.name,
        version=(last or 0) + 1,
        content_hash=digest,
        bpmn_xml=text,
        deployed_by_id=deployed_by_id,
    )
    session.add(definition)
    session.flush()
    _cache_put(definition.id, parsed)
    return definition, True


def latest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


_cache: dict[int, ParsedProcess] = {}
_cache_lock = threading.Lock()


def _cache_put(definition_id: int, parsed: ParsedProcess) -> None:
    with _cache_lock:
        _cache[definition_id] = parsed


def loaded(definition: ProcessDefinition) -> ParsedProcess:
    """The parsed spec of a deployed definition, parsed once per process."""
    parsed = _cache.get(definition.id)
    if parsed is None:
        parsed = parse_bpmn(definition.bpmn_xml)
        _cache_put(definition.id, parsed)
    return parsed


def loaded_by_id(session: Session, definition_id: int) -> ParsedProcess:
    """The parsed spec of a deployed definition by its id: from the cache without touching the
    database (not even the definition row and its BPMN text), else loaded and parsed once."""
    parsed = _cache.get(definition_id)
    if parsed is None:
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise LookupError(f"no process definition {definition_id}")
        parsed = loaded(definition)
    return parsed
