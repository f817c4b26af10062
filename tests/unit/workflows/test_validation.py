"""workflows.validation: every deploy-time rule, on small BPMN documents built here.

Each rule test asserts the exact list of elements reported, so a rule that fires too often fails
as surely as one that does not fire.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from workflows import evaluator
from workflows.forms import FieldNeed
from workflows.validation import (
    ISO_LITERAL,
    Problem,
    check,
    literal_timer,
    quote_literal_timers,
    task_role,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
ROLES = {"department", "street_office", "district_reviewer", "committee", "finance"}
HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"'
    ' xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
    ' xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
    ' xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' id="defs" targetNamespace="http://example.org/test">'
)
DIAGRAM = (
    '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="p">'
    "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"
)
TASK = '<bpmn:userTask id="t" camunda:candidateGroups="street_office"/>'
TYPES = "string, text, enum, long, boolean, date, decimal"


def document(body: str, *, attrs: str = 'isExecutable="true"', outside: str = "", di=True):
    """``body`` as the content of process ``p`` in a minimal definitions with a diagram."""
    process = f'<bpmn:process id="p" {attrs}>{body}</bpmn:process>'
    return etree.fromstring(f"{HEAD}{outside}{process}{DIAGRAM if di else ''}</bpmn:definitions>")


def chain(*nodes: str, extra: str = "", **kwargs):
    """start -> nodes... -> end, one sequence flow (f0, f1, ...) between each pair."""
    ids = ["start", *(re.search(r'id="([^"]+)"', n)[1] for n in nodes), "end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(pairwise(ids))
    )
    body = '<bpmn:startEvent id="start"/>' + "".join(nodes) + '<bpmn:endEvent id="end"/>'
    return document(body + flows + extra, **kwargs)


def problems(root, **kwargs) -> list[Problem]:
    return check(root, roles=kwargs.pop("roles", ROLES), **kwargs)


def where(root, **kwargs) -> list[str | None]:
    return [p.element for p in problems(root, **kwargs)]


def only(root, element: str | None, english: str, **kwargs) -> Problem:
    """The one problem of ``root``: on ``element``, its English message containing ``english``."""
    found = problems(root, **kwargs)
    assert [p.element for p in found] == [element], found
    assert english in found[0].message_en, found[0]
    assert re.search(r"[\u4e00-\u9fff]", found[0].message), found[0]  # the Chinese text
    return found[0]


def timer(text: str, kind: str = "timeDuration"):
    boundary = (
        '<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false">'
        f"<bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="late"/><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="late"/>'
    )
    return chain(TASK, extra=boundary)


# --- the baseline and the shipped files --------------------------------------------------------


def test_minimal_document_has_no_problems():
    assert problems(chain(TASK)) == []


@pytest.mark.parametrize("path", [FIXTURES / "mini.bpmn", ROOT / "bpmn" / "handoff.bpmn"])
def test_shipped_files_have_no_problems(path):
    # handoff's scripts call to_fen and the payment plan's functions, which its process plugin
    # adds to the evaluator's functions
    from handoff.plugin import handoff_plugin

    functions = {*evaluator.DEFAULT_FUNCTIONS, *handoff_plugin().functions}
    assert problems(etree.parse(str(path)).getroot(), functions=functions) == []


def test_several_problems_are_all_reported_with_their_elements():
    root = etree.parse(str(FIXTURES / "validation" / "several_problems.bpmn")).getroot()
    expected = [
        ("several", "camunda:candidateStarterGroups names unknown role 'mayor'"),
        ("f_no", "the sequence flow's target 'archive' does not exist"),
        ("fill", "the user task has no role"),
        ("fill", "camunda:assignee '${manager}' must be a username or ${starter}"),
        ("fill", "form field 'amount' has unsupported type 'money'"),
        ("fill", "enum form field 'kind' has no values"),
        ("fill", "task listeners are not supported"),
        ("review_overdue", "'P10' is not a valid ISO 8601 duration"),
        ("notify", "service tasks are not supported (no connectors; camunda:class)"),
        ("f_no", "this flow out of exclusive gateway 'decision' has no condition"),
        ("f_yes", "the condition uses JUEL"),
    ]
    found = problems(root)
    assert len(found) == len(expected), found
    for element, english in expected:
        assert [p for p in found if p.element == element and p.message_en.startswith(english)]


def test_problem_text_names_element_then_chinese_then_english():
    assert str(Problem("t", "中文", "English")) == "t: 中文 (English)"
    assert str(Problem(None, "中文", "English")) == "中文 (English)"


# --- file level --------------------------------------------------------------------------------


def test_not_a_definitions_root():
    only(etree.fromstring("<x/>"), None, "not a BPMN 2.0 file")


def test_no_executable_process_still_checks_the_process():
    root = chain('<bpmn:userTask id="t"/>', attrs='isExecutable="false"')
    assert where(root) == [None, "t"]


def test_more_than_one_executable_process():
    second = '<bpmn:process id="q" isExecutable="true"><bpmn:startEvent id="s2"/></bpmn:process>'
    root = chain(TASK, outside=second)
    found = problems(root)
    assert [p.element for p in found] == [None, "s2"]  # s2 also leads nowhere
    assert "the file has 2 executable processes (q, p)" in found[0].message_en
    assert "文件中有 2 个可执行流程（q、p）" in found[0].message


def test_no_diagram():
    only(chain(TASK, di=False), None, "no diagram (BPMNDI)")


def test_long_id_and_long_name():
    long_id = "t" * 101
    root = chain(
        f'<bpmn:userTask id="{long_id}" name="{"名" * 201}" camunda:candidateGroups="finance"/>'
    )
    assert [p.message_en for p in problems(root)] == [
        "the id is longer than 100 characters",
        "the name is longer than 200 characters",
    ]
    assert (
        where(chain(f'<bpmn:userTask id="{"t" * 100}" camunda:candidateGroups="finance"/>')) == []
    )


def test_duplicate_ids():
    root = chain(TASK, extra='<bpmn:endEvent id="t"/>')
    assert ("t", "2 elements share this id") in [(p.element, p.message_en) for p in problems(root)]


# --- roles and assignees -----------------------------------------------------------------------


def test_user_task_without_role():
    p = only(chain('<bpmn:userTask id="t"/>'), "t", "has no role")
    assert p.message == "用户任务没有角色：请设置 camunda:candidateGroups，或把它放进带角色的泳道"


@pytest.mark.parametrize(
    "task, lanes",
    [
        ('<bpmn:userTask id="t" camunda:candidateGroups="mayor"/>', ""),
        (
            '<bpmn:userTask id="t"/>',
            '<bpmn:lane id="L" name="mayor"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane>',
        ),
    ],
)
def test_unknown_role_from_groups_or_lane(task, lanes):
    body = f'<bpmn:laneSet id="ls">{lanes}</bpmn:laneSet>' if lanes else ""
    only(chain(task, extra=body), "t", "unknown role 'mayor'")


def test_candidate_groups_with_several_groups():
    task = '<bpmn:userTask id="t" camunda:candidateGroups="finance, committee"/>'
    only(chain(task), "t", "exactly one role")


def test_candidate_groups_expression():
    task = '<bpmn:userTask id="t" camunda:candidateGroups="${reviewerGroup}"/>'
    only(chain(task), "t", "cannot be an expression")


@pytest.mark.parametrize("assignee", ["${starter}", "${initiator}", "alice", "wang.wei-2_x"])
def test_assignee_accepted(assignee):
    task = (
        f'<bpmn:userTask id="t" camunda:candidateGroups="finance" camunda:assignee="{assignee}"/>'
    )
    assert where(chain(task)) == []


@pytest.mark.parametrize("assignee", ["${manager}", "#{starter}", "two words", "a" * 65, "王伟"])
def test_assignee_refused(assignee):
    task = (
        f'<bpmn:userTask id="t" camunda:candidateGroups="finance" camunda:assignee="{assignee}"/>'
    )
    only(chain(task), "t", "camunda:assignee")


def test_candidate_starter_groups():
    root = chain(
        TASK, attrs='isExecutable="true" camunda:candidateStarterGroups="department, mayor"'
    )
    only(root, "p", "unknown role 'mayor'")


def _lanes(inner_role: str = "") -> str:
    prop = (
        "<bpmn:extensionElements><camunda:properties>"
        f'<camunda:property name="role" value="{inner_role}"/>'
        "</camunda:properties></bpmn:extensionElements>"
    )
    return (
        '<bpmn:laneSet id="ls"><bpmn:lane id="outer" name="department">'
        "<bpmn:flowNodeRef>t</bpmn:flowNodeRef><bpmn:flowNodeRef>u</bpmn:flowNodeRef>"
        '<bpmn:childLaneSet id="cls"><bpmn:lane id="inner" name="街道">'
        f"{prop if inner_role else ''}<bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane>"
        "</bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>"
    )


def test_task_role_sources():
    root = chain(
        '<bpmn:userTask id="t"/>',
        '<bpmn:userTask id="u"/>',
        '<bpmn:userTask id="g" camunda:candidateGroups=" finance "/>',
        '<bpmn:userTask id="none"/>',
        extra=_lanes("street_office"),
    )
    process = root.find("{*}process")
    role = {t.get("id"): task_role(process, t) for t in process.iter("{*}userTask")}
    # innermost lane's role property; outer lane's name; candidateGroups; nothing
    assert role == {"t": "street_office", "u": "department", "g": "finance", "none": None}


def test_task_role_inner_lane_name_and_subprocess_lane():
    sub = (
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="s"/><bpmn:userTask id="v"/>'
        '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="sf1" sourceRef="s" targetRef="v"/>'
        '<bpmn:sequenceFlow id="sf2" sourceRef="v" targetRef="e"/></bpmn:subProcess>'
    )
    lanes = _lanes().replace("<bpmn:flowNodeRef>u</bpmn:flowNodeRef>", "")
    lanes = lanes.replace(
        "</bpmn:lane></bpmn:childLaneSet>",
        "<bpmn:flowNodeRef>sub</bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet>",
    )
    process = chain('<bpmn:userTask id="t"/>', sub, extra=lanes).find("{*}process")
    tasks = {t.get("id"): t for t in process.iter("{*}userTask")}
    assert task_role(process, tasks["t"]) == "街道"  # the inner lane's name
    assert task_role(process, tasks["v"]) == "街道"  # inherited from the subprocess's lane


# --- what the engine does not run --------------------------------------------------------------


def _event(kind: str, definition: str) -> str:
    return f'<bpmn:intermediate{kind}Event id="x">{definition}</bpmn:intermediate{kind}Event>'


@pytest.mark.parametrize(
    "node, english",
    [
        (
            '<bpmn:serviceTask id="x" camunda:class="org.example.A"/>',
            "no connectors; camunda:class",
        ),
        ('<bpmn:serviceTask id="x" camunda:delegateExpression="${a}"/>', "delegateExpression"),
        ('<bpmn:serviceTask id="x" camunda:expression="${a.b()}"/>', "camunda:expression"),
        ('<bpmn:serviceTask id="x" camunda:type="external" camunda:topic="t"/>', 'type="external"'),
        ('<bpmn:sendTask id="x"/>', "send tasks are not supported"),
        ('<bpmn:serviceTask id="x"/>', "service tasks are not supported (no connectors)"),
        ('<bpmn:businessRuleTask id="x" camunda:decisionRef="d"/>', "(DMN)"),
        ('<bpmn:complexGateway id="x"/>', "complex gateways"),
        (_event("Throw", "<bpmn:signalEventDefinition/>"), "signal"),
        (_event("Throw", "<bpmn:escalationEventDefinition/>"), "escalation"),
        (_event("Catch", "<bpmn:conditionalEventDefinition/>"), "conditional"),
        (_event("Throw", '<bpmn:linkEventDefinition name="a"/>'), "link"),
        (_event("Throw", "<bpmn:compensateEventDefinition/>"), "compensation"),
        (_event("Throw", '<bpmn:messageEventDefinition camunda:class="A"/>'), "camunda:class is"),
    ],
)
def test_unsupported_nodes(node, english):
    only(chain(node), "x", english)


def test_transaction():
    tx = (
        '<bpmn:transaction id="x"><bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="sf" sourceRef="s" targetRef="e"/></bpmn:transaction>'
    )
    only(chain(tx), "x", "transactions are not supported")


@pytest.mark.parametrize(
    "extension, english",
    [
        ('<camunda:executionListener class="A" event="start"/>', "execution listeners"),
        (
            '<camunda:executionListener event="end">'
            '<camunda:script scriptFormat="groovy">x</camunda:script></camunda:executionListener>',
            "execution listeners",
        ),
        ('<camunda:taskListener delegateExpression="${l}" event="create"/>', "task listeners"),
        (
            '<camunda:inputOutput><camunda:inputParameter name="a">${b}</camunda:inputParameter>'
            "</camunda:inputOutput>",
            "input/output mappings",
        ),
    ],
)
def test_extensions_the_engine_ignores(extension, english):
    task = (
        '<bpmn:userTask id="x" camunda:candidateGroups="finance">'
        f"<bpmn:extensionElements>{extension}</bpmn:extensionElements></bpmn:userTask>"
    )
    only(chain(task), "x", english)


def _script(script: str, attrs: str = "") -> str:
    return f'<bpmn:scriptTask id="x" {attrs}><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'


@pytest.mark.parametrize("fmt", ["javascript", "groovy", "JavaScript"])
def test_script_format_not_python(fmt):
    script = _script("a = 1", f'scriptFormat="{fmt}"')
    only(chain(script), "x", f"script format '{fmt}' is not supported")


@pytest.mark.parametrize("attr", ["", 'scriptFormat="python"', 'scriptFormat="Python"'])
def test_script_format_python_or_missing(attr):
    script = _script("a = 1", attr)
    assert where(chain(script)) == []


def test_script_without_inline_script():
    only(chain('<bpmn:scriptTask id="x" camunda:resource="a.py"/>'), "x", "no inline script")


@pytest.mark.parametrize(
    "called, deployed, expected",
    [("other", (), ["x"]), ("other", ("other",), []), ("p", (), []), ("", (), ["x"])],
)
def test_call_activity(called, deployed, expected):
    root = chain(f'<bpmn:callActivity id="x" calledElement="{called}"/>')
    assert where(root, processes=deployed) == expected


# --- structure ---------------------------------------------------------------------------------


def test_sequence_flow_to_and_from_nowhere():
    root = chain(TASK, extra='<bpmn:sequenceFlow id="bad" sourceRef="ghost" targetRef="void"/>')
    assert [(p.element, p.message_en[:30]) for p in problems(root)] == [
        ("bad", "the sequence flow's source 'gh"),
        ("bad", "the sequence flow's target 'vo"),
    ]


def test_nodes_without_incoming_or_outgoing_flow():
    root = chain(TASK, extra=TASK.replace('id="t"', 'id="lost"') + '<bpmn:endEvent id="e2"/>')
    found = [(p.element, p.message_en.split(":")[0]) for p in problems(root)]
    assert found == [
        ("lost", "no incoming sequence flow"),
        ("lost", "no outgoing sequence flow"),
        ("e2", "no incoming sequence flow"),
    ]


def test_boundary_events_and_event_subprocesses_need_no_incoming_flow():
    event_sub = (
        '<bpmn:subProcess id="es" triggeredByEvent="true">'
        '<bpmn:startEvent id="es_start"><bpmn:messageEventDefinition messageRef="m"/>'
        '</bpmn:startEvent><bpmn:endEvent id="es_end"/>'
        '<bpmn:sequenceFlow id="esf" sourceRef="es_start" targetRef="es_end"/></bpmn:subProcess>'
    )
    root = timer("P10D")
    root.find("{*}process").append(etree.fromstring(HEAD + event_sub + "</bpmn:definitions>")[0])
    root.insert(0, etree.fromstring(HEAD + '<bpmn:message id="m" name="m"/></bpmn:definitions>')[0])
    assert where(root) == []


def test_boundary_event_attached_to_nothing():
    root = etree.fromstring(
        etree.tostring(timer("P1D")).replace(b'attachedToRef="t"', b'attachedToRef="z"')
    )
    only(root, "b", "attached to does not exist")


def test_unknown_message():
    catch = (
        '<bpmn:intermediateCatchEvent id="x"><bpmn:messageEventDefinition messageRef="nope"/>'
        "</bpmn:intermediateCatchEvent>"
    )
    only(chain(catch), "x", "the message 'nope' is not defined")


def _mi(cardinality: str) -> str:
    return (
        '<bpmn:userTask id="x" camunda:candidateGroups="committee">'
        "<bpmn:multiInstanceLoopCharacteristics>"
        f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    )


def test_multi_instance_cardinality():
    assert where(chain(_mi("500"))) == []
    assert where(chain(_mi("len(communities)"))) == []
    only(chain(_mi("501")), "x", "cardinality 501 is above the maximum of 500")
    only(chain(_mi("9" * 5000)), "x", "is above the maximum")
    only(chain(_mi("20")), "x", "above the maximum of 10", max_cardinality=10)
    only(chain(_mi("${n}")), "x", "loop cardinality uses JUEL")


def test_multi_instance_needs_cardinality_or_collection():
    only(chain(_mi("")), "x", "needs a loop cardinality or a collection")


# --- expressions and gateways ------------------------------------------------------------------


def _gateway(yes: str | None, no: str | None, default: str = "") -> etree._Element:
    def flow(fid, target, cond):
        text = (
            "" if cond is None else f"<bpmn:conditionExpression>{cond}</bpmn:conditionExpression>"
        )
        start = f'<bpmn:sequenceFlow id="{fid}" sourceRef="g" targetRef="{target}">'
        return f"{start}{text}</bpmn:sequenceFlow>"

    body = (
        '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/>'
        f'<bpmn:exclusiveGateway id="g" {default}/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        + flow("yes", "e1", yes)
        + flow("no", "e2", no)
    )
    return document(body)


def test_exclusive_gateway_conditions():
    assert where(_gateway("amount &gt; 1000", "amount &lt;= 1000")) == []
    assert where(_gateway("amount &gt; 1000", None, 'default="no"')) == []
    only(_gateway("amount &gt; 1000", None), "no", "has no condition and is not the default")
    only(_gateway("a", "b", 'default="elsewhere"'), "g", "does not leave this gateway")


@pytest.mark.parametrize(
    "condition, english",
    [
        ("${amount &gt; 1000}", "uses JUEL"),
        ("#{approved}", "uses JUEL"),
        ("amount.__class__", "the condition is refused"),
        ("open('x')", "'open' cannot be called"),
        ("amount &gt;", "syntax error"),
        ("  ", "has no condition and is not the default"),
    ],
)
def test_conditions_go_through_the_evaluator(condition, english):
    only(_gateway(condition, "True"), "yes", english)


def test_condition_language_must_be_python():
    root = _gateway("true", "false")
    root.find(".//{*}conditionExpression").set("language", "javascript")
    assert where(root) == ["yes"]


def test_functions_parameter_decides_what_may_be_called():
    root = _gateway("score(amount) &gt; 100", "True")
    assert where(root) == ["yes"]
    assert where(root, functions={"score"}) == []


@pytest.mark.parametrize(
    "script, english",
    [
        ("import os", "import is not allowed"),
        ("for x in y:\n    pass", "a for loop is not allowed"),
        ("a = ${b}", "uses JUEL"),
    ],
)
def test_scripts_go_through_the_evaluator_as_statements(script, english):
    only(chain(_script(script)), "x", english)


# --- forms -------------------------------------------------------------------------------------


def _form(*fields: str) -> etree._Element:
    return chain(
        '<bpmn:userTask id="x" camunda:candidateGroups="finance"><bpmn:extensionElements>'
        f"<camunda:formData>{''.join(fields)}</camunda:formData>"
        "</bpmn:extensionElements></bpmn:userTask>"
    )


def test_form_fields():
    fine = [f'<camunda:formField id="f_{t}" type="{t}"/>' for t in ("string", "text", "long")]
    fine += [f'<camunda:formField id="f_{t}" type="{t}"/>' for t in ("boolean", "date", "decimal")]
    fine.append(
        '<camunda:formField id="pick" type="enum"><camunda:value id="a"/></camunda:formField>'
    )
    assert where(_form(*fine)) == []
    found = problems(
        _form(
            '<camunda:formField id="a" type="money"/>',
            '<camunda:formField id="b"/>',
            '<camunda:formField id="c" type="enum"/>',
            '<camunda:formField id="d" type="string"/><camunda:formField id="d" type="text"/>',
            '<camunda:formField id="2nd" type="string"/>',
            '<camunda:formField id="class" type="string"/>',
            '<camunda:formField id="金额" type="string"/>',
        )
    )
    assert [p.message_en for p in found] == [
        f"form field 'a' has unsupported type 'money'; use one of {TYPES}",
        f"form field 'b' has unsupported type ''; use one of {TYPES}",
        "enum form field 'c' has no values",
        "form field id '2nd' is not an identifier (letters, digits, _)",
        "form field id 'class' is not an identifier (letters, digits, _)",
        "form field id '金额' is not an identifier (letters, digits, _)",
        "form field id 'd' is used 2 times",
    ]


# --- timers ------------------------------------------------------------------------------------

ACCEPTED = [
    ("P10D", "timeDuration"),
    ("PT4H", "timeDuration"),
    ("P1Y2M3DT4H5M6S", "timeDuration"),
    ("P2W", "timeDuration"),
    ("PT1.5S", "timeDuration"),
    ("P10Y", "timeDuration"),
    ("2027-01-04T09:00:00+08:00", "timeDate"),
    ("2027-01-04T09:00:00Z", "timeDate"),
    ("2027-01-04T09:00Z", "timeDate"),
    ("2027-01-04T09:00:00.250+08:00", "timeDate"),
    ("R3/PT1H", "timeCycle"),
    ("R/P1D", "timeCycle"),
    ("R5/2027-01-04T09:00:00Z/P1D", "timeCycle"),
    ("R1000/PT1M", "timeCycle"),
]


@pytest.mark.parametrize("text, kind", ACCEPTED)
def test_literal_timers_accepted(text, kind):
    assert literal_timer(text, kind) and ISO_LITERAL.match(text)
    assert where(timer(text, kind)) == []


@pytest.mark.parametrize(
    "text, kind, english",
    [
        ("R/PT0S", "timeCycle", "repeats too often"),
        ("R100000/PT0S", "timeCycle", "must repeat 1 to 1000 times"),
        ("R1001/P1D", "timeCycle", "must repeat 1 to 1000 times"),
        ("R0/P1D", "timeCycle", "must repeat 1 to 1000 times"),
        ("R/P11Y", "timeCycle", "longer than 10 years"),
        ("R3/2027-01-04T09:00:00/P1D", "timeCycle", "has no time zone"),
        ("P100000000Y", "timeDuration", "longer than 10 years"),
        ("P3653D", "timeDuration", "longer than 10 years"),
        ("P" + "9" * 5000 + "D", "timeDuration", "absurdly large"),
        ("P99999999999999999999D", "timeDuration", "longer than 10 years"),
        ("2027-01-04T09:00:00", "timeDate", "has no time zone"),
        ("1969-12-31T23:00:00Z", "timeDate", "the year must be in 1970–2200"),
        ("2201-01-01T00:00:00Z", "timeDate", "the year must be in 1970–2200"),
        ("2027-02-30T09:00:00Z", "timeDate", "does not exist"),
        ("2027-01-04", "timeDate", "is not a valid ISO 8601 date-time"),
        ("P10", "timeDuration", "is not a valid ISO 8601 duration"),
        ("PT", "timeDuration", "is not a valid ISO 8601 duration"),
        ("p10d", "timeDuration", "is not a valid ISO 8601 duration"),
        ("P1W2D", "timeDuration", "is not a valid ISO 8601 duration"),
        ("R3/P", "timeCycle", "is not a valid ISO 8601 cycle"),
        ("P10D", "timeDate", "is a duration but the timer type is timeDate"),
        ("2027-01-04T09:00:00Z", "timeDuration", "is a date-time but the timer type"),
        ("P1D", "timeCycle", "is a duration but the timer type is timeCycle"),
    ],
)
def test_literal_timers_refused(text, kind, english):
    only(timer(text, kind), "b", english)


@pytest.mark.parametrize("text", ["5", "None", "[1, 2]", "True", "3 * 60", "{'a': 1}"])
def test_constant_timer_expressions_must_give_an_iso_string(text):
    only(timer(text), "b", "does not give an ISO 8601 date or duration string")


@pytest.mark.parametrize(
    "text, english",
    [
        ('"garbage"', "'garbage' is not a valid ISO 8601 duration"),
        ('"P" + "0D"', None),
        ("'P10D'", None),
        ("'R/PT0S'", "repeats too often"),
        ("${duration}", "the timer expression uses JUEL"),
        ("deadline.__dict__", "the timer expression is refused"),
        ("1 / 0", "the timer expression fails"),
        ("", "the timer expression is empty"),
    ],
)
def test_timer_expressions(text, english):
    kind = "timeCycle" if "R/" in text else "timeDuration"
    if english is None:
        assert where(timer(text, kind)) == []
    else:
        only(timer(text, kind), "b", english)


@pytest.mark.parametrize("text", ["garbage", "deadline", "add_working_days(now(), 10)"])
def test_names_and_calls_in_timers_are_left_to_run_time(text):
    # a name may be process data, so only the run can tell what it holds
    assert where(timer(text)) == []


def test_timer_without_time():
    root = etree.fromstring(
        etree.tostring(timer("P1D")).replace(b"<bpmn:timeDuration>P1D</bpmn:timeDuration>", b"")
    )
    only(root, "b", "the timer has no time")


def test_quote_literal_timers_copies_and_quotes_only_literals():
    root = chain(
        TASK,
        extra=(
            '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration> P10D </bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:boundaryEvent>"
            '<bpmn:intermediateCatchEvent id="c"><bpmn:timerEventDefinition>'
            "<bpmn:timeDate>add_working_days(now(), 2)</bpmn:timeDate></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>"
        ),
    )
    quoted = quote_literal_timers(root)
    texts = [n.text for n in quoted.iter("{*}timeDuration", "{*}timeDate")]
    assert texts == ['"P10D"', "add_working_days(now(), 2)"]
    assert [n.text for n in root.iter("{*}timeDuration")] == [" P10D "]  # original untouched


def test_quoted_literal_timer_parses_and_evaluates_in_spiffworkflow():
    root = timer("P10D")
    assert problems(root) == []
    parser = CamundaParser()
    parser.add_bpmn_xml(quote_literal_timers(root), filename="x.bpmn")
    spec = parser.get_spec("p")
    expression = spec.task_specs["b"].event_definition.expression
    assert expression == '"P10D"'
    # what the engine does when the timer starts: evaluate, then parse as ISO 8601
    value = evaluator.evaluate(expression, {})
    assert TimerEventDefinition.parse_iso_duration(value) == {"days": 10}
    with pytest.raises(evaluator.ExpressionError):  # unquoted, P10D is an unknown variable
        evaluator.evaluate("P10D", {})


@pytest.mark.parametrize("assignee", ["${starter}", "wang.wei"])
def test_an_assignee_alone_routes_a_task(assignee):
    assert where(chain(f'<bpmn:userTask id="t" camunda:assignee="{assignee}"/>')) == []


def test_a_bad_assignee_alone_is_no_route():
    found = [
        p.message_en
        for p in problems(chain('<bpmn:userTask id="t" camunda:assignee="${boss}"/>'))
        if p.element == "t"
    ]
    assert len(found) == 2, found
    assert any("no role" in m for m in found) and any("camunda:assignee" in m for m in found)


# --- bounded execution (issue 14): what deployment can see ------------------------------------


def _flow(fid: str, source: str, target: str, condition: str = "") -> str:
    head = f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"'
    if not condition:
        return head + "/>"
    condition = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>"
    return f"{head}>{condition}</bpmn:sequenceFlow>"


def _loop(waiting: bool) -> etree._Element:
    """start -> s (script) -> g -> end, and g back to s (through user task w when waiting)."""
    back = "w" if waiting else "s"
    return document(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:scriptTask id="s" scriptFormat="python"><bpmn:script>n = 1</bpmn:script>'
        "</bpmn:scriptTask>"
        + ('<bpmn:userTask id="w" camunda:candidateGroups="street_office"/>' if waiting else "")
        + '<bpmn:exclusiveGateway id="g" default="out"/><bpmn:endEvent id="end"/>'
        + _flow("in", "start", "s")
        + _flow("on", "s", "g")
        + _flow("out", "g", "end")
        + _flow("back", "g", back, "n &lt; 3")
        + (_flow("again", "w", "s") if waiting else "")
    )


def test_a_loop_needs_something_to_wait_for():
    found = only(_loop(waiting=False), "s", "nothing to wait for")
    assert "s, g" in found.message_en and "s、g" in found.message
    assert where(_loop(waiting=True)) == []


def _ending(end_id: str) -> etree._Element:
    return document(
        '<bpmn:startEvent id="start"/>'
        + TASK
        + f'<bpmn:endEvent id="{end_id}"/>'
        + _flow("a", "start", "t")
        + _flow("b", "t", end_id)
    )


def test_an_outcome_must_fit_its_column():
    assert where(_ending("end_" + "o" * 40)) == []
    assert where(_ending("end_" + "o" * 40 + "__long_suffix")) == []
    only(_ending("end_" + "o" * 41), "end_" + "o" * 41, "at most 40 fit")


def test_collections_need_their_element_variable_and_loops_a_maximum():
    collection = (
        '<bpmn:userTask id="x" camunda:candidateGroups="committee">'
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items"/></bpmn:userTask>'
    )
    only(chain(collection), "x", "needs a camunda:elementVariable")
    loop = (
        '<bpmn:scriptTask id="x" scriptFormat="python">{}'
        "<bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>"
    )
    only(chain(loop.format("<bpmn:standardLoopCharacteristics/>")), "x", "loopMaximum of at most")
    bounded = '<bpmn:standardLoopCharacteristics loopMaximum="5"/>'
    assert where(chain(loop.format(bounded))) == []


def test_constant_cardinalities_are_evaluated():
    only(chain(_mi("10 ** 5")), "x", "cardinality 100000 is above the maximum of 500")
    only(chain(_mi("-1")), "x", "must be a whole number from 0 to 500")


def test_fields_a_plugin_reads_must_be_on_the_task():
    form = (
        '<bpmn:userTask id="t" camunda:candidateGroups="street_office"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="day" type="string"/></camunda:formData>'
        "</bpmn:extensionElements></bpmn:userTask>"
    )
    needs = {"t": {"day": FieldNeed("date", reader="weekday"), "n": FieldNeed("long")}}
    found = problems(chain(form), field_needs=needs)
    assert [p.element for p in found] == ["t", "t"], found
    assert "'day' must be of type date" in found[0].message_en and "weekday" in found[0].message_en
    assert "no form field 'n'" in found[1].message_en
    assert where(chain(form), field_needs={"other": needs["t"]}) == []
