"""Deploy-time checks of a BPMN file, worded for the modeller who has to fix them.

`check` reads the parsed XML (lxml only) and returns every problem of the file at once, each with
the BPMN element id and a message in Chinese (the modellers' language) and English (logs,
developers). Expressions and scripts go through `workflows.evaluator`'s whitelist, as they will
at run time. No database and no Flask: the caller passes the known roles and deployed processes.

Features are refused when SpiffWorkflow cannot run them, or silently ignores them (listeners,
input/output mappings, Java delegates, JUEL), or when this service deliberately does not offer
them (signals, escalations, conditional events, DMN, connectors): what deploys runs as drawn.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from workflows import evaluator
from workflows.forms import FIELD_TYPES, FieldNeed, parse_form_data, unmet_needs
from workflows.models import MessageSubscription, ProcessInstance, Task
from workflows.timers_iso import (
    ISO_LITERAL,
    TimerKind,
    literal_problem,
    literal_timer,
    looks_literal,
    quote_literal_timers,
)
from workflows.validation_messages import MESSAGES

__all__ = ["ISO_LITERAL", "Problem", "check", "literal_timer", "quote_literal_timers", "task_role"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
# Namespaces whose `id` attributes are XML ids (camunda:formField/property ids repeat by design).
ID_NAMESPACES = {BPMN, NS["bpmndi"], "http://www.omg.org/spec/DD/20100524/DC"}


def _length(column) -> int:
    return column.property.columns[0].type.length


# Ids and names end in these columns (PostgreSQL refuses what is longer; SQLite would store it).
MAX_ID = _length(Task.key)  # a user task's id is its task key (also the process key's length)
MAX_NAME = min(_length(Task.name), _length(MessageSubscription.name))  # task and message names
MAX_OUTCOME = _length(ProcessInstance.outcome)  # end_<outcome>: the instance's outcome
STARTER_REFS = ("${starter}", "${initiator}")  # both mean: whoever started the instance
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # form fields become variables: review.x
_JUEL = re.compile(r"[$#]\{")
_PYTHON = ("python", "python3")


def _b(local: str) -> str:
    return f"{{{BPMN}}}{local}"


def _c(local: str) -> str:
    return f"{{{CAMUNDA}}}{local}"


_SCOPES = {_b(t) for t in ("process", "subProcess", "transaction", "adHocSubProcess")}
_ACTIVITY_TAGS = ["task", "userTask", "scriptTask", "serviceTask", "manualTask", "sendTask"]
_ACTIVITY_TAGS += ["receiveTask", "businessRuleTask", "callActivity"]
_EVENT_TAGS = ["startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"]
_EVENT_TAGS += ["boundaryEvent"]
_GATEWAY_TAGS = ["exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"]
_GATEWAY_TAGS += ["complexGateway"]
_FLOW_NODES = _SCOPES - {_b("process")} | {
    _b(t) for t in _ACTIVITY_TAGS + _EVENT_TAGS + _GATEWAY_TAGS
}
_TIMER_KINDS = {_b(k): k for k in ("timeDate", "timeDuration", "timeCycle")}
_UNSUPPORTED = {_b(k) for k in ("businessRuleTask", "complexGateway", "transaction")}
_UNSUPPORTED |= {_b(f"{k}EventDefinition") for k in ("compensate", "cancel", "signal")}
_UNSUPPORTED |= {_b(f"{k}EventDefinition") for k in ("escalation", "conditional", "link")}
_UNSUPPORTED |= {_c(k) for k in ("executionListener", "taskListener", "inputOutput")}


@dataclass(frozen=True)
class Problem:
    element: str | None  # BPMN element id; None for the file as a whole
    message: str  # Chinese
    message_en: str

    def __str__(self) -> str:
        text = f"{self.message} ({self.message_en})"
        return f"{self.element}: {text}" if self.element is not None else text


@dataclass
class _Context:
    root: etree._Element
    roles: frozenset[str]
    processes: frozenset[str]
    functions: frozenset[str]
    max_cardinality: int
    field_needs: Mapping[str, Mapping[str, FieldNeed]] = field(default_factory=dict)
    found: dict[Problem, None] = field(default_factory=dict)  # ordered set: no repeats

    def add(self, element: str | None, key: str, **fields: object) -> None:
        zh, en = MESSAGES[key]
        self.found[Problem(element, zh.format(**fields), en.format(**fields))] = None

    def add_text(self, element: str | None, message: tuple[str, str]) -> None:
        self.found[Problem(element, *message)] = None

    def role_lists(self) -> dict[str, str]:
        return {"roles": "、".join(sorted(self.roles)), "roles_en": ", ".join(sorted(self.roles))}


def check(
    root: etree._Element,
    *,
    roles: Collection[str],
    processes: Collection[str] = (),
    functions: Collection[str] | None = None,
    max_cardinality: int = 500,
    field_needs: Mapping[str, Mapping[str, FieldNeed]] | None = None,
) -> list[Problem]:
    """All problems of a BPMN file (``root`` = its <bpmn:definitions>), roughly in file order.

    ``roles``: role keys that exist; ``processes``: deployed process keys (call activity
    targets); ``functions``: names expressions may call (None: the evaluator's defaults);
    ``max_cardinality``: instances of a multi-instance activity (`limits.Settings`);
    ``field_needs``: task key (or start event id) -> the form fields the process's plugin
    reads there (`plugins.ProcessPlugin.field_needs`).
    """
    names = evaluator.DEFAULT_FUNCTIONS if functions is None else functions
    ctx = _Context(
        root,
        frozenset(roles),
        frozenset(processes),
        frozenset(names),
        max_cardinality,
        field_needs or {},
    )
    if root.tag != _b("definitions"):
        ctx.add(None, "not_bpmn")
        return list(ctx.found)
    if root.find("bpmndi:BPMNDiagram", NS) is None:
        ctx.add(None, "no_diagram")
    _check_ids(root, ctx)
    for process in _processes(root, ctx):
        _check_process(process, ctx)
    return list(ctx.found)


def _processes(root: etree._Element, ctx: _Context) -> list[etree._Element]:
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
    if not executable:
        ctx.add(None, "no_executable")
        return processes  # check them anyway, so that one answer lists everything
    if len(executable) > 1:
        ids = [p.get("id") or "?" for p in executable]
        ctx.add(None, "many_executable", n=len(ids), ids="、".join(ids), ids_en=", ".join(ids))
    return executable


def _check_ids(root: etree._Element, ctx: _Context) -> None:
    counts: Counter[str] = Counter()
    for el in root.iter(tag=etree.Element):
        if etree.QName(el).namespace not in ID_NAMESPACES:
            continue
        ident, name = el.get("id"), el.get("name")
        if ident is not None:
            counts[ident] += 1
            if len(ident) > MAX_ID:
                ctx.add(ident, "id_too_long", max=MAX_ID)
        if name is not None and len(name) > MAX_NAME:
            ctx.add(ident, "name_too_long", max=MAX_NAME)
    for ident, n in counts.items():
        if n > 1:
            ctx.add(ident, "duplicate_id", n=n)


def _check_process(process: etree._Element, ctx: _Context) -> None:
    _starter_groups(process, ctx)
    _plugin_fields(process, ctx)
    for el in process.iter(tag=etree.Element):
        if el.tag in _SCOPES:
            _check_scope(el, ctx)
        if el.tag in _UNSUPPORTED:
            ctx.add(_owner_id(el), etree.QName(el).localname)
        if rule := _RULES.get(el.tag):
            rule(process, el, ctx)
        if etree.QName(el).namespace == BPMN:
            _implementation(el, ctx)


def _owner_id(node: etree._Element) -> str | None:
    """Id of the flow element (or process) that ``node`` belongs to: what the modeller clicks."""
    for el in (node, *node.iterancestors()):
        parent = el.getparent()
        if el.tag == _b("process") or (parent is not None and parent.tag in _SCOPES):
            return el.get("id")
    return None


# --- structure -----------------------------------------------------------------------------------


def _check_scope(scope: etree._Element, ctx: _Context) -> None:
    """Sequence flows and the nodes they connect, within one process or subprocess."""
    nodes = {n.get("id"): n for n in scope if n.tag in _FLOW_NODES}
    ends: dict[str, set[str | None]] = {"sourceRef": set(), "targetRef": set()}
    for flow in scope.iterfind("bpmn:sequenceFlow", NS):
        for attr, key in (("sourceRef", "flow_source"), ("targetRef", "flow_target")):
            ends[attr].add(flow.get(attr))
            if flow.get(attr) not in nodes:
                ctx.add(flow.get("id"), key, ref=flow.get(attr) or "")
    if scope.tag == _b("adHocSubProcess"):
        return  # its nodes are unconnected by design
    if scope.find("bpmn:startEvent", NS) is None:
        ctx.add(scope.get("id"), "no_start")
    for node_id, node in nodes.items():
        # Event subprocesses start on their event, compensation handlers on compensation.
        detached = node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true"
        boundary = node.tag == _b("boundaryEvent")
        if boundary and node.get("attachedToRef") not in nodes:
            ctx.add(node_id, "boundary_target", ref=node.get("attachedToRef") or "")
        starts = detached or boundary or node.tag == _b("startEvent")
        if node_id not in ends["targetRef"] and not starts:
            ctx.add(node_id, "no_incoming")
        if node_id not in ends["sourceRef"] and not (detached or node.tag == _b("endEvent")):
            ctx.add(node_id, "no_outgoing")
    _automatic_cycles(scope, nodes, ctx)


# Elements where a running instance waits for a person, a message or time, so that a loop
# through one of them runs once per wait and not round and round within one engine step.
_WAITS = {_b(t) for t in ("userTask", "manualTask", "receiveTask", "eventBasedGateway")}
_WAITS |= {_b("intermediateCatchEvent"), _b("boundaryEvent")}
# may wait inside: a subprocess that holds a wait; a call activity (the process it calls is
# checked when it is deployed, and may change: given the benefit of the doubt)
_MAY_WAIT = {_b("callActivity")}


def _waits(node: etree._Element) -> bool:
    if node.tag in _WAITS or node.tag in _MAY_WAIT:
        return True
    if node.tag in _SCOPES:
        return any(el.tag in _WAITS or el.tag in _MAY_WAIT for el in node.iterdescendants())
    return False


def _automatic_cycles(scope: etree._Element, nodes: dict, ctx: _Context) -> None:
    """Refuse a loop of sequence flows with nothing on it to wait for.

    Such a loop runs within one engine step until its condition lets it out, bounded by nothing
    but the step's time limit, and SpiffWorkflow 3.2 does not run it right either: its
    prediction recurses along the loop (a RecursionError when a parallel gateway is on it),
    and a loop of 3,000 passes ended the instance "completed" after about 1,000, the task after
    the loop never reached. Work repeated a known number of times is a multi-instance activity
    (`camunda:collection`, `loopCardinality`)."""
    graph: dict[str, list[str]] = {n: [] for n, el in nodes.items() if not _waits(el)}
    for flow in scope.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in graph and target in graph:
            graph[source].append(target)
    for cycle in _cycles(graph):
        ordered = [n for n in nodes if n in cycle]  # file order
        shown = ordered[:8] + (["…"] if len(ordered) > 8 else [])
        ctx.add(ordered[0], "automatic_cycle", ids="、".join(shown), ids_en=", ".join(shown))


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """The strongly connected components of ``graph`` that hold a cycle (Tarjan's algorithm,
    iterative: a file may have thousands of nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ])))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(component)
    return found


def _exclusive_gateway(process: etree._Element, gw: etree._Element, ctx: _Context) -> None:
    gid, default = gw.get("id"), gw.get("default")
    flows = gw.getparent().iterfind("bpmn:sequenceFlow", NS)
    outgoing = [f for f in flows if f.get("sourceRef") == gid]
    if default and default not in {f.get("id") for f in outgoing}:
        ctx.add(gid, "default_elsewhere", default=default)
    if len(outgoing) < 2:
        return
    for flow in outgoing:
        condition = flow.findtext("bpmn:conditionExpression", "", NS).strip()
        if flow.get("id") != default and not condition:
            ctx.add(flow.get("id"), "no_condition", gateway=gid)


# --- roles, assignees and forms ----------------------------------------------------------------


def task_role(process: etree._Element, task: etree._Element) -> str | None:
    """Role of a user task: its camunda:candidateGroups, else its lane (innermost first): the
    lane's camunda property ``role``, else the lane's name. A task in an embedded subprocess
    with no lane of its own takes the subprocess's lane, as SpiffWorkflow does."""
    groups = (task.get(_c("candidateGroups")) or "").strip()
    if groups:
        return groups
    refs = [r for r in process.iter(_b("flowNodeRef")) if r.text]
    for el in (task, *task.iterancestors(*_SCOPES - {_b("process")})):
        lanes = [r.getparent() for r in refs if r.text.strip() == el.get("id")]
        for lane in sorted(lanes, key=_lane_depth, reverse=True):
            if role := lane_role(lane):
                return role
    return None


def _lane_depth(lane: etree._Element) -> int:
    return sum(1 for _ in lane.iterancestors(_b("lane")))


def lane_role(lane: etree._Element) -> str | None:
    """A lane's role: its camunda property `role`, else its name."""
    for prop in lane.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
        if prop.get("name") == "role" and (prop.get("value") or "").strip():
            return prop.get("value").strip()
    return (lane.get("name") or "").strip() or None


def _user_task(process: etree._Element, task: etree._Element, ctx: _Context) -> None:
    tid, groups = task.get("id"), task.get(_c("candidateGroups")) or ""
    role = task_role(process, task)
    assignee = (task.get(_c("assignee")) or "").strip()
    good_assignee = assignee in STARTER_REFS or bool(_USERNAME.fullmatch(assignee))
    if _JUEL.search(groups):
        ctx.add(tid, "groups_expression")
    elif "," in groups:
        ctx.add(tid, "groups_several", groups=groups)
    elif role is None and not good_assignee:  # an assignee alone routes it (to that person)
        ctx.add(tid, "no_role")
    elif role is not None and role not in ctx.roles:
        ctx.add(tid, "unknown_role", role=role, **ctx.role_lists())
    if assignee and not good_assignee:
        ctx.add(tid, "bad_assignee", value=assignee)
    _form(task, ctx)


def _form(task: etree._Element, ctx: _Context) -> None:
    tid, seen = task.get("id"), Counter()
    for f in task.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        fid, ftype = f.get("id") or "", f.get("type")
        seen[fid] += 1
        if not _IDENTIFIER.fullmatch(fid) or keyword.iskeyword(fid):
            ctx.add(tid, "field_id", fid=fid)
        if ftype not in FIELD_TYPES:
            types = {"types": "、".join(FIELD_TYPES), "types_en": ", ".join(FIELD_TYPES)}
            ctx.add(tid, "field_type", fid=fid, ftype=ftype or "", **types)
        elif ftype == "enum" and f.find("camunda:value", NS) is None:
            ctx.add(tid, "enum_empty", fid=fid)
    for fid, n in seen.items():
        if n > 1:
            ctx.add(tid, "field_twice", fid=fid, n=n)


def _plugin_fields(process: etree._Element, ctx: _Context) -> None:
    """The form fields the process's plugin reads (its rules and hooks apply to every version)
    must be on the task's form, of the type the code expects, required where it reads them
    unconditionally; a task this version does not have needs nothing."""
    if not ctx.field_needs:
        return
    elements = {
        el.get("id"): el for el in process.iter(_b("userTask"), _b("startEvent")) if el.get("id")
    }
    for key, needs in ctx.field_needs.items():
        element = elements.get(key)
        if element is None:
            continue
        try:
            form = parse_form_data(element.find("bpmn:extensionElements/camunda:formData", NS))
        except ValueError:
            continue  # a bad constraint: reported by the form rule
        for fid, need, what in unmet_needs(form, needs):
            ctx.add(key, f"plugin_field_{what}", fid=fid, ftype=need.type, reader=need.reader)


def _end_event(process: etree._Element, end: etree._Element, ctx: _Context) -> None:
    """``end_<outcome>[__suffix]``: the outcome must fit the instance's outcome column."""
    eid = end.get("id") or ""
    if eid.startswith("end_"):
        outcome = eid[len("end_") :].split("__", 1)[0]
        if len(outcome) > MAX_OUTCOME:
            ctx.add(eid, "outcome_too_long", max=MAX_OUTCOME, n=len(outcome))


def _starter_groups(process: etree._Element, ctx: _Context) -> None:
    for group in (process.get(_c("candidateStarterGroups")) or "").split(","):
        if group.strip() and group.strip() not in ctx.roles:
            ctx.add(process.get("id"), "starter_group", group=group.strip(), **ctx.role_lists())


# --- what the engine cannot run -----------------------------------------------------------------


def _implementation(el: etree._Element, ctx: _Context) -> None:
    """Service/send tasks (no connectors here), and Java or external implementations anywhere."""
    used = [f"camunda:{a}" for a in ("class", "delegateExpression") if el.get(_c(a)) is not None]
    if el.get(_c("type")) == "external":
        used.append('camunda:type="external"')
    kinds = {_b("serviceTask"): ("服务任务", "service"), _b("sendTask"): ("发送任务", "send")}
    if el.tag in kinds:
        used += ["camunda:expression"] if el.get(_c("expression")) is not None else []
        zh, en = (f"（这里设置了 {used[0]}）", f"; {used[0]}") if used else ("", "")
        kind, kind_en = kinds[el.tag]
        ctx.add(el.get("id"), "connector_task", kind=kind, kind_en=kind_en, detail=zh, detail_en=en)
    elif used:
        ctx.add(_owner_id(el), "java", attr=used[0])
    if el.get("isForCompensation") == "true":
        ctx.add(el.get("id"), "compensateEventDefinition")


def _call_activity(process: etree._Element, el: etree._Element, ctx: _Context) -> None:
    called = (el.get("calledElement") or "").strip()
    if not called:
        ctx.add(el.get("id"), "call_nothing")
    elif called != process.get("id") and called not in ctx.processes:
        ctx.add(el.get("id"), "call_unknown", called=called)


def _message_ref(process: etree._Element, el: etree._Element, ctx: _Context) -> None:
    ref = el.get("messageRef")
    if ref and ref not in {m.get("id") for m in ctx.root.iterfind("bpmn:message", NS)}:
        ctx.add(_owner_id(el), "message_unknown", ref=ref)


# --- expressions, scripts and timers -----------------------------------------------------------


def _expression(
    eid: str | None,
    text: str | None,
    mode: Literal["eval", "exec"],
    what: tuple[str, str],
    ctx: _Context,
) -> bool:
    """Check one expression (mode "eval") or script ("exec"); True when it passed."""
    names = {"what": what[0], "what_en": what[1]}
    if not (text or "").strip():
        ctx.add(eid, "empty", **names)
    elif _JUEL.search(text):
        ctx.add(eid, "juel", **names)
    else:
        try:
            evaluator.validate(text, mode=mode, functions=ctx.functions)
            return True
        except evaluator.ExpressionError as exc:
            ctx.add(eid, "refused", error=exc, **names)
    return False


def _script_task(process: etree._Element, task: etree._Element, ctx: _Context) -> None:
    tid, fmt = task.get("id"), (task.get("scriptFormat") or "python").strip()
    script = task.find("bpmn:script", NS)
    if fmt.lower() not in _PYTHON:
        ctx.add(tid, "script_format", fmt=fmt)
    elif task.get(_c("resource")) or script is None:
        ctx.add(tid, "script_missing")
    else:
        _expression(tid, script.text, "exec", ("脚本", "script"), ctx)


def _sequence_flow(process: etree._Element, flow: etree._Element, ctx: _Context) -> None:
    cond = flow.find("bpmn:conditionExpression", NS)
    if cond is None or not (cond.text or "").strip():
        return  # no condition: _exclusive_gateway reports it where one is needed
    if (cond.get("language") or "python").lower() not in _PYTHON:
        ctx.add(flow.get("id"), "condition_language", lang=cond.get("language"))
    else:
        _expression(flow.get("id"), cond.text, "eval", ("条件", "condition"), ctx)


def _loop_owner(loop: etree._Element) -> str | None:
    """The activity a loop characteristics element belongs to (its parent: `_owner_id` would
    stop at the element itself when the activity is a subprocess, which is a scope)."""
    activity = loop.getparent()
    return activity.get("id") if activity is not None else _owner_id(loop)


def _multi_instance(process: etree._Element, mi: etree._Element, ctx: _Context) -> None:
    owner = _loop_owner(mi)
    cardinality = mi.findtext("bpmn:loopCardinality", "", NS).strip()
    collection = mi.get(_c("collection")) or ""
    if not cardinality and not collection:
        ctx.add(owner, "mi_nothing")
    elif re.fullmatch(r"[0-9]+", cardinality):
        _cardinality(owner, cardinality, ctx)  # digits only: no need to evaluate 10**100000
    elif cardinality and _expression(
        owner, cardinality, "eval", ("循环基数", "loop cardinality"), ctx
    ):
        # a constant (no names: no data, no calls) is known now: 100_000, 10 ** 5
        if not any(isinstance(n, ast.Name) for n in ast.walk(ast.parse(cardinality, mode="eval"))):
            try:
                value = evaluator.evaluate(cardinality, {})
            except evaluator.ExpressionError as exc:
                ctx.add(owner, "refused", error=exc, what="循环基数", what_en="loop cardinality")
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                ctx.add(owner, "mi_not_count", text=cardinality, max=ctx.max_cardinality)
            else:
                _cardinality(owner, str(value), ctx)
    if _JUEL.search(collection):
        ctx.add(owner, "mi_collection")
    elif collection and not (mi.get(_c("elementVariable")) or "").strip():
        ctx.add(owner, "mi_element_variable")  # SpiffWorkflow 3.2 fails on it at run time
    if (condition := mi.find("bpmn:completionCondition", NS)) is not None:
        _expression(owner, condition.text, "eval", ("完成条件", "completion condition"), ctx)


def _cardinality(owner: str | None, digits: str, ctx: _Context) -> None:
    if len(digits) > 9 or int(digits) > ctx.max_cardinality:
        shown = digits if len(digits) <= 12 else digits[:12] + "…"
        ctx.add(owner, "mi_too_many", n=shown, max=ctx.max_cardinality)


def _standard_loop(process: etree._Element, loop: etree._Element, ctx: _Context) -> None:
    """A standard loop on an activity nobody waits for repeats within one engine step: it
    needs a loopMaximum within the multi-instance limit (a condition alone may never end)."""
    owner = _loop_owner(loop)
    activity = loop.getparent()
    if (condition := loop.find("bpmn:loopCondition", NS)) is not None:
        _expression(owner, condition.text, "eval", ("循环条件", "loop condition"), ctx)
    if activity is None or _waits(activity):
        return
    maximum = (loop.get("loopMaximum") or "").strip()
    if not re.fullmatch(r"[0-9]{1,9}", maximum) or int(maximum) > ctx.max_cardinality:
        ctx.add(owner, "loop_unbounded", max=ctx.max_cardinality)


def _timer(process: etree._Element, definition: etree._Element, ctx: _Context) -> None:
    owner = _owner_id(definition)
    specs = [c for c in definition if c.tag in _TIMER_KINDS]
    if not specs:
        ctx.add(owner, "timer_empty")
    for spec in specs:
        _timer_text(owner, (spec.text or "").strip(), _TIMER_KINDS[spec.tag], ctx)


def _timer_text(owner: str | None, text: str, kind: TimerKind, ctx: _Context) -> None:
    """A literal must be a sensible one; an expression must pass the evaluator, and when it is a
    constant (no names, so no data and no calls) its value must be a sensible literal."""
    if looks_literal(text):
        if problem := literal_problem(text, kind):
            ctx.add_text(owner, problem)
        return
    if not _expression(owner, text, "eval", ("定时器表达式", "timer expression"), ctx):
        return
    if any(isinstance(n, ast.Name) for n in ast.walk(ast.parse(text, mode="eval"))):
        return  # reads data or calls functions: only the run can tell
    try:
        value = evaluator.evaluate(text, {})
    except evaluator.ExpressionError as exc:
        ctx.add(owner, "timer_fails", error=exc)
        return
    if not isinstance(value, str):
        ctx.add(owner, "timer_not_iso", text=text)
    elif problem := literal_problem(value, kind):
        ctx.add_text(owner, problem)


_RULES = {
    _b("userTask"): _user_task,
    _b("scriptTask"): _script_task,
    _b("callActivity"): _call_activity,
    _b("sequenceFlow"): _sequence_flow,
    _b("exclusiveGateway"): _exclusive_gateway,
    _b("multiInstanceLoopCharacteristics"): _multi_instance,
    _b("standardLoopCharacteristics"): _standard_loop,
    _b("endEvent"): _end_event,
    _b("timerEventDefinition"): _timer,
    _b("messageEventDefinition"): _message_ref,
    _b("receiveTask"): _message_ref,
}
