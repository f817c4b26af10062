"""Process definitions: parse and check BPMN, deploy it as a version, cache the parsed spec.

A deployed definition never changes, so its parsed spec is cached by id for the life of the
process; running instances keep the definition id they started with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from . import evaluator, guards, limits, plugins, validation
from .forms import FIELD_TYPES, Form, parse_form_data
from .models import ProcessDefinition, ProcessInstance, ProcessRelease

MAX_BPMN_BYTES = 2_000_000
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
CAMUNDA = "{" + NS["camunda"] + "}"


class DefinitionError(ValueError):
    """A BPMN file that cannot be deployed: every problem found, each naming its element.

    `element` and `reason` are the first problem's, for callers that show one."""

    def __init__(
        self,
        message: str = "",
        element: str | None = None,
        problems: Sequence[validation.Problem] = (),
    ):
        self.problems = list(problems) or [validation.Problem(element, message, message)]
        first = self.problems[0]
        super().__init__("; ".join(str(p) for p in self.problems))
        self.element = first.element
        self.reason = first.message_en


@dataclass(frozen=True)
class UserTaskInfo:
    key: str
    name: str
    role: str
    form: Form
    # "starter" (the instance's starter), a username, or None (the role's inbox)
    assignee: str | None = None


@dataclass(frozen=True)
class ParsedProcess:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    start_form: Form = Form()
    start_event: str = ""
    # roles that may start it (camunda:candidateStarterGroups); empty: any signed-in role
    starter_roles: frozenset[str] = frozenset()
    documentation: str = ""
    # whether any element waits for a message (else the projection skips subscriptions)
    has_messages: bool = False
    # roles that may send it messages besides admins (see `messages.deliver`); `public`: named
    # by the process's property messageSenders, they may send to instances they cannot read
    message_senders: frozenset[str] = frozenset()
    public_messages: bool = False

    @property
    def roles(self) -> set[str]:
        return {t.role for t in self.user_tasks.values()}


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


def _process_key(root: etree._Element) -> str:
    executable = root.findall("bpmn:process[@isExecutable='true']", NS)
    return executable[0].get("id", "") if len(executable) == 1 else ""


def _executable_process(root: etree._Element) -> etree._Element:
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
    if len(executable) != 1:
        raise DefinitionError(
            f"a file must hold exactly one executable process, found {len(executable)}"
        )
    return executable[0]


def _check(root: etree._Element, process_key: str, roles, processes) -> None:
    plugin = plugins.for_process(process_key)
    functions = {*evaluator.DEFAULT_FUNCTIONS, *plugin.functions}
    problems = validation.check(
        root,
        roles=roles,
        processes=processes,
        functions=functions,
        max_cardinality=limits.SETTINGS.multi_instance,
        field_needs=plugin.field_needs(),
    )
    if problems:
        raise DefinitionError(problems=problems)


def _user_tasks(
    spec: BpmnProcessSpec, subprocess_specs: dict[str, Any], process: etree._Element
) -> dict[str, UserTaskInfo]:
    elements = {t.get("id"): t for t in process.iterfind(".//bpmn:userTask", NS)}
    tasks = {}
    specs = [spec, *subprocess_specs.values()]
    for ts in (ts for sp in specs for ts in sp.task_specs.values()):
        if not getattr(ts, "manual", False):
            continue
        element = elements.get(ts.name)
        if element is None:  # a manual task: no form, no role; nobody completes it
            raise DefinitionError("manual tasks are not supported: use a user task", ts.name)
        form = _form_of(element)
        assignee = (element.get(f"{CAMUNDA}assignee") or "").strip() or None
        if assignee in validation.STARTER_REFS:
            assignee = "starter"
        role = validation.task_role(process, element) or ""
        tasks[ts.name] = UserTaskInfo(ts.name, ts.bpmn_name or ts.name, role, form, assignee)
    return tasks


def _form_of(element: etree._Element) -> Form:
    form_data = element.find("bpmn:extensionElements/camunda:formData", NS)
    try:
        form = parse_form_data(form_data)
    except ValueError as exc:
        raise DefinitionError(str(exc), element.get("id")) from None
    for f in form.fields:
        if f.type not in FIELD_TYPES:
            raise DefinitionError(
                f"form field {f.id!r} has unknown type {f.type!r}", element.get("id")
            )
    return form


def _start_event(process: etree._Element) -> etree._Element | None:
    for start in process.findall("bpmn:startEvent", NS):
        if start.find("bpmn:messageEventDefinition", NS) is None:
            return start
    return None


def _starter_roles(process: etree._Element) -> frozenset[str]:
    text = process.get(f"{CAMUNDA}candidateStarterGroups") or ""
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _senders_property(process: etree._Element) -> etree._Element | None:
    return process.find(
        "bpmn:extensionElements/camunda:properties/camunda:property[@name='messageSenders']", NS
    )


def _message_senders(process: etree._Element) -> frozenset[str]:
    """The process's camunda property `messageSenders` (comma-separated roles), else every
    role named on it (its tasks' and its starters')."""
    prop = _senders_property(process)
    if prop is not None:
        return frozenset(r.strip() for r in (prop.get("value") or "").split(",") if r.strip())
    named = {validation.task_role(process, t) for t in process.iterfind(".//bpmn:userTask", NS)}
    return frozenset(r for r in named if r) | _starter_roles(process)


def _for_spiff(root: etree._Element) -> etree._Element:
    """The copy of the file SpiffWorkflow parses; forms and routing are read from the original.

    SpiffWorkflow 3.2 evaluates timer text as an expression: Camunda's literal ISO forms (P10D,
    R3/PT1H, dates) are handed to it quoted. Its parser also indexes every element with an id,
    form fields and their values included, so a value `approve` would hide a task `approve`:
    the copy has no camunda:formData (this module reads forms itself, `_form_of`)."""
    copy = validation.quote_literal_timers(root)
    for form in copy.iterfind(".//camunda:formData", NS):
        form.getparent().remove(form)
    return copy


def parse_bpmn(
    xml: str | bytes, roles: Collection[str] | None = None, processes: Collection[str] = ()
) -> ParsedProcess:
    """Parse and check a BPMN file; DefinitionError lists every problem with its element.

    `roles` are the known role keys and `processes` the deployed process keys: deployment
    passes them and the file is checked in full (`workflows.validation`). A definition that
    was deployed before is parsed again without them (it was checked when it was deployed)."""
    root = _safe_xml(xml)
    if roles is not None:
        _check(root, _process_key(root), roles, processes)
    process = _executable_process(root)
    if root.find(".//bpmndi:BPMNDiagram", NS) is None:
        raise DefinitionError("the file has no diagram interchange (BPMNDI) to draw")
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(_for_spiff(root), filename="upload.bpmn")
        key = process.get("id")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
        guards.bound_multi_instance([spec, *subprocess_specs.values()])
    except ValidationException as exc:
        raise DefinitionError(str(exc.args[0] if exc.args else exc), exc.id or None) from None
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DefinitionError(f"cannot be parsed: {exc}") from None
    start = _start_event(process)
    doc = process.find("bpmn:documentation", NS)
    return ParsedProcess(
        key=key,
        name=process.get("name") or key,
        spec=spec,
        subprocess_specs=subprocess_specs,
        user_tasks=_user_tasks(spec, subprocess_specs, process),
        start_form=_form_of(start) if start is not None else Form(),
        start_event=start.get("id", "") if start is not None else "",
        starter_roles=_starter_roles(process),
        documentation=(doc.text or "").strip() if doc is not None else "",
        has_messages=process.find(".//bpmn:messageEventDefinition", NS) is not None
        or process.find(".//bpmn:receiveTask", NS) is not None,
        message_senders=_message_senders(process),
        public_messages=_senders_property(process) is not None,
    )


def content_hash(xml: str | bytes) -> str:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return hashlib.sha256(data).hexdigest()


def deploy(
    session: Session,
    xml: str | bytes,
    deployed_by_id: int | None = None,
    roles: set[str] | None = None,
) -> tuple[ProcessDefinition, bool]:
    """Deploy a file as the next version of its process.

    As in Camunda, a file identical to the newest version is not a new one; a file identical
    to an older version is (that is how a rollback is deployed)."""
    processes = set(session.scalars(select(ProcessDefinition.key).distinct()))
    parsed = parse_bpmn(xml, roles, processes)
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    digest = content_hash(text)
    last = newest(session, parsed.key)
    if last is not None and last.content_hash == digest:
        return last, False
    definition = ProcessDefinition(
        key=parsed.key,
        name=parsed.name,
        version=(last.version if last else 0) + 1,
        content_hash=digest,
        bpmn_xml=text,
        deployed_by_id=deployed_by_id,
        suspended=False,
    )
    session.add(definition)
    session.flush()
    _cache_put(definition.id, parsed)
    return definition, True


def newest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


def in_force(session: Session, key: str, *, text: bool = True) -> ProcessDefinition | None:
    """The version new instances of `key` start on: the one an admin chose, else the newest
    version that is not suspended, else the newest. One statement; `text=False` leaves the
    BPMN text out (a start: the parsed spec is cached by id; the text loads if someone reads it
    while the session is open)."""
    released = ProcessRelease.definition_id.is_(None)  # False (chosen) sorts first
    stmt = (
        select(ProcessDefinition)
        .outerjoin(
            ProcessRelease,
            (ProcessRelease.definition_id == ProcessDefinition.id) & (ProcessRelease.key == key),
        )
        .where(ProcessDefinition.key == key)
        .order_by(released, ProcessDefinition.suspended, ProcessDefinition.version.desc())
        .limit(1)
    )
    return session.scalar(stmt if text else stmt.options(defer(ProcessDefinition.bpmn_xml)))


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


def of_instance(session: Session, instance: ProcessInstance) -> ParsedProcess:
    """The parsed spec an instance runs on, without loading its definition row."""
    return loaded_by_id(session, instance.definition_id)


# --- which version new instances start on --------------------------------------------------


def set_suspended(session: Session, definition: ProcessDefinition, suspended: bool) -> None:
    """Suspend a version (it starts nothing new; running instances carry on) or activate it."""
    definition.suspended = suspended
    if suspended:
        # a suspended version cannot stay the chosen one: the newest active one takes over
        row = session.get(ProcessRelease, definition.key)
        if row is not None and row.definition_id == definition.id:
            session.delete(row)
    session.flush()


def release(session: Session, definition: ProcessDefinition, actor_id: int | None) -> None:
    """Make this version the one new instances of its key start on (e.g. roll back)."""
    definition.suspended = False
    row = session.get(ProcessRelease, definition.key)
    if row is None:
        session.add(
            ProcessRelease(key=definition.key, definition_id=definition.id, chosen_by_id=actor_id)
        )
    else:
        row.definition_id, row.chosen_by_id = definition.id, actor_id
    session.flush()


def released_ids(session: Session) -> set[int]:
    """The definition ids in force for their keys (chosen, else newest not suspended)."""
    keys = set(session.scalars(select(ProcessDefinition.key).distinct()))
    ids = set()
    for key in keys:
        definition = in_force(session, key)
        if definition is not None:
            ids.add(definition.id)
    return ids
