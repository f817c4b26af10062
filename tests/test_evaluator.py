"""workflows.evaluator: the restricted expression/script language and its SpiffWorkflow engine."""

from __future__ import annotations

import math
import re
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from handoff.money import to_fen
from workflows import clock, evaluator
from workflows.evaluator import DEFAULT_FUNCTIONS, ExpressionError, evaluate, execute, validate
from workflows.script_engine import (
    RestrictedEnvironment,
    RestrictedScriptEngine,
    make_script_engine,
)

WITH_TO_FEN = {**DEFAULT_FUNCTIONS, "to_fen": to_fen}
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 9, 24, 2, 30, tzinfo=UTC)  # Thu 2026-09-24 10:30 in Shanghai


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def data():
    return {
        "street_review": {"decision": "approve", "comment": ""},
        "item_category": "assisted",
        "amount_fen": 0,
        "amount": "1234.50",
        "items": [1, 2, 3],
        "name": "东城街道",
        "a": {"b": {"c": 5}},
        "s": "text",
        "empty": None,
    }


# -- expressions ------------------------------------------------------------------------------


def test_handoff_expressions(data):
    assert evaluate("street_review.decision == 'approve'", data) is True
    assert evaluate("street_review.decision == 'reject'", data) is False
    assert evaluate("item_category in ['assisted', 'unlisted'] and amount_fen == 0", data) is True
    data["amount_fen"] = 100
    assert evaluate("item_category in ['assisted', 'unlisted'] and amount_fen == 0", data) is False
    with clock.freeze(T0):
        due = evaluate("add_working_days(now(), 15)", data)
    # 15 working days after 2026-09-24 (Mid-autumn and National Day in between): 10-22.
    assert due == "2026-10-22T15:59:59+00:00"
    assert datetime.fromisoformat(due).astimezone(CST).isoformat() == "2026-10-22T23:59:59+08:00"


def test_missing_key_reads_none(data):
    assert evaluate("street_review.missing", data) is None
    assert evaluate("street_review.missing is None", data) is True
    assert evaluate("a.b.c", data) == 5
    assert evaluate("a.x", data) is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-amount_fen", 0),
        ("+3", 3),
        ("not empty", True),
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("3 >= 3 != 4", True),
        ("'a' in 'abc'", True),
        ("'x' not in items", True),
        ("empty is None", True),
        ("s is not None", True),
        ("0 or '' or 'last'", "last"),
        ("1 and 0 and undefined_is_never_evaluated", 0),
        ("1 or undefined_is_never_evaluated", 1),
        ("'yes' if amount_fen == 0 else 'no'", "yes"),
        ("items[0]", 1),
        ("items[-1]", 3),
        ("items[1:]", [2, 3]),
        ("items[::-1]", [3, 2, 1]),
        ("s[1:3]", "ex"),
        ("name[0:2]", "东城"),
        ("street_review['decision']", "approve"),
        ("a['b']['c'] + a.b.c", 10),
        ("(1, 2)[1]", 2),
        ("{'k': [1, {'n': None}]}", {"k": [1, {"n": None}]}),
        ("{1, 2, 2}", {1, 2}),
        ("[1] + [2]", [1, 2]),
        ("'ab' * 3", "ababab"),
        ("3 * [0]", [0, 0, 0]),
        ("f'{name}: {amount_fen} fen'", "东城街道: 0 fen"),
        ("f'{items!r} {s!s}'", "[1, 2, 3] text"),
        ("len(items) + len(s)", 7),
        ("str(12) + str(None)", "12None"),
        ("int('42') + int(3.9)", 45),
        ("bool('') or bool([0])", True),
        ("min(items) + max(3, 9)", 10),
        ("max(['aa', 'b'], key=len)", "aa"),
        ("abs(-5)", 5),
        ("round(2.675, 1)", 2.7),
        ("round(7.5)", 8),
        ("True", True),
        ("None", None),
        ("1.5e3", 1500.0),
    ],
)
def test_expressions(data, expression, expected):
    assert evaluate(expression, data) == expected


def test_whitespace_around_expressions_is_ignored(data):
    assert evaluate("\n   street_review.decision == 'approve'  \n", data) is True


def test_functions_are_looked_up_after_variables():
    assert evaluate("len", {"len": 3}) == 3
    assert evaluate("len(x)", {"len": 3, "x": "ab"}) == 2  # calls always go to the functions


def test_custom_functions():
    functions = {"double": lambda x: 2 * x}
    assert evaluate("double(21)", {}, functions) == 42
    with pytest.raises(ExpressionError, match="function calls are limited to: double"):
        evaluate("len('x')", {}, functions)


def test_variables_can_be_any_mapping():
    from collections import ChainMap

    assert evaluate("x + y", ChainMap({"x": 1}, {"y": 2})) == 3


# -- the default functions --------------------------------------------------------------------


def test_now_and_today_follow_the_clock():
    clock.freeze(datetime(2026, 9, 30, 17, 0, tzinfo=UTC))  # 10-01 01:00 in Shanghai
    assert evaluate("now()", {}) == "2026-09-30T17:00:00+00:00"
    assert evaluate("today()", {}) == "2026-10-01"


def test_add_working_days_arguments():
    assert evaluate("add_working_days('2026-09-24', 15)", {}) == "2026-10-22T15:59:59+00:00"
    assert (
        evaluate("add_working_days('2026-09-24T02:30:00Z', 15)", {}) == "2026-10-22T15:59:59+00:00"
    )
    assert evaluate("add_working_days(d, 0)", {"d": "2026-10-01T08:00:00+08:00"}) == (
        "2026-10-01T15:59:59+00:00"
    )
    assert DEFAULT_FUNCTIONS["add_working_days"](T0, 1) == "2026-09-28T15:59:59+00:00"
    for bad in ["add_working_days('soon', 1)", "add_working_days(now(), -1)",
                "add_working_days(now(), 1.5)", "add_working_days(now(), 100000)",
                "add_working_days(1, 1)"]:  # fmt: skip
        with pytest.raises(ExpressionError, match=r"add_working_days\(\)"):
            evaluate(bad, {})


def test_no_dangerous_functions_are_exposed():
    assert set(DEFAULT_FUNCTIONS) == {
        "len", "str", "int", "bool", "min", "max", "abs", "round",
        "now", "add_working_days", "today",
    }  # fmt: skip
    with pytest.raises(TypeError):
        DEFAULT_FUNCTIONS["float"] = float  # read-only


# -- scripts ----------------------------------------------------------------------------------

APPLY_REVISION = """
# apply_revision: accept or withdraw the department's revised offer
if revision.decision == 'accept':
    agreed_amount_fen = to_fen(revision.amount)
    agreement['amount_fen'] = agreed_amount_fen
    agreement.revisions += 1
    agreement.due_at = add_working_days(now(), revision.extra_days)
    status = f"revised: {revision.amount} yuan"
elif revision.decision == 'withdraw':
    status = 'withdrawn'
    agreement.due_at = None
else:
    pass
needs_district = item_category in ['assisted', 'unlisted'] and agreement.amount_fen == 0
"""


def test_apply_revision_script_accept():
    clock.freeze(T0)
    data = {
        "revision": {"decision": "accept", "amount": "8000.50", "extra_days": 15},
        "agreement": {"amount_fen": 500000, "revisions": 0},
        "item_category": "assisted",
    }
    execute(APPLY_REVISION, data, WITH_TO_FEN)
    assert data["agreed_amount_fen"] == 800050
    assert data["agreement"] == {
        "amount_fen": 800050,
        "revisions": 1,
        "due_at": "2026-10-22T15:59:59+00:00",
    }
    assert data["status"] == "revised: 8000.50 yuan"
    assert data["needs_district"] is False


def test_apply_revision_script_withdraw_and_other():
    data = {
        "revision": {"decision": "withdraw"},
        "agreement": {"amount_fen": 0, "revisions": 2, "due_at": "x"},
        "item_category": "unlisted",
    }
    execute(APPLY_REVISION, data, WITH_TO_FEN)
    assert data["status"] == "withdrawn"
    assert data["agreement"]["due_at"] is None
    assert data["needs_district"] is True

    data = {"revision": {}, "agreement": {"amount_fen": 1}, "item_category": "listed"}
    execute(APPLY_REVISION, data, WITH_TO_FEN)
    assert "status" not in data
    assert data["needs_district"] is False


def test_script_statements():
    data = {"d": {}, "xs": [1, 2, 3], "n": 1}
    execute(
        """
a = b = 2
n += 10
n -= 1
n *= 2
d['k'] = 'v'
d.other = [a, b]
d.other[0] = 'first'
xs[-1] = 30
s = 'x'
s += 'y'
len(xs)
"docstrings are fine"
if n > 100:
    big = True
elif n > 10:
    big = 'medium'
else:
    big = False
""",
        data,
    )
    assert data == {
        "d": {"k": "v", "other": ["first", 2]},
        "xs": [1, 2, 30],
        "n": 20,
        "a": 2,
        "b": 2,
        "s": "xy",
        "big": "medium",
    }


def test_indented_script_from_xml_is_dedented():
    data = {}
    execute("\n        x = 1\n        if x:\n            y = 2\n    ", data)
    assert data == {"x": 1, "y": 2}


def test_failed_script_changes_nothing():
    data = {"d": {"k": 1}, "n": 1}
    with pytest.raises(ExpressionError, match="line 4"):
        execute("n = 2\nd.k = 2\nd.new = 'x'\nboom = missing_name", data)
    assert data == {"d": {"k": 1}, "n": 1}


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("x = {1, 2}", "type set"),
        ("x = (1, 2)", "type tuple"),
        ("x = len", "builtin_function_or_method"),
        ("x = {'a': {1: 2}}", "key"),
        ("x = 1e308 * 10", "finite"),
        ("x = [now]", "type function"),
        ("d.self = d", "inside itself"),
        ("d['inner'] = {'x': d}", "inside itself"),
        ("d[1] = 2", "keys must be strings"),
        ("s.x = 1", "only allowed on dicts"),
        ("d.missing.x = 1", "only allowed on dicts"),
        ("xs[5] = 1", "out of range"),
        ("xs['a'] = 1", "integer"),
        ("len = 3", "function name"),
        ("n += 1", "not defined"),
        ("d.count += 1", "not found"),
        ("a, b = 1, 2", "unpacking"),
        ("xs[0:1] = [9]", "slice assignment"),
        ("x: int = 1", "annotated"),
        ("x == 1", "statement must be"),
        ("s", "statement must be"),
    ],
)
def test_script_refusals(script, message):
    data = {"d": {}, "s": "str", "xs": [1]}
    with pytest.raises(ExpressionError, match=message):
        execute(script, data)
    assert data == {"d": {}, "s": "str", "xs": [1]}


def test_assigned_data_size_is_limited():
    with pytest.raises(ExpressionError, match="too large"):
        execute("a = 'x' * 100000\nb = [a] * 100000", {})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        execute("x = " + "[" * 60 + "]" * 60, {})


# -- escapes that must fail -------------------------------------------------------------------

ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "().__class__",
    "__import__('os').system('id')",
    "__builtins__",
    "(lambda: 1)()",
    "[x for x in ()]",
    "{x: 1 for x in ()}",
    "{x for x in ()}",
    "list(x for x in ())",
    "getattr(1, '__class__')",
    "open('/etc/passwd')",
    "type(1)",
    "float('inf')",
    "vars()",
    "globals()",
    "locals()",
    "dir()",
    "exec('1')",
    "eval('1')",
    "compile('1', 'f', 'eval')",
    "breakpoint()",
    "'' .join",
    "''.join(['a'])",
    "s.upper()",
    "s.upper",
    "a.__class__",
    "s.__class__",
    "a.b.__class__",
    "a.__getitem__('b')",
    "a.get('b')",
    "len.__self__",
    "str.mro",
    "f'{a.__class__}'",
    "f'{s.__class__}'",
    "f'{s:{s}}'",
    "'%s' % s",
    "'%999999999d' % 1",
    "9**9**9",
    "2 ** 1000",
    "10.0 ** 1000",
    "'a' * 10**9",
    "[1] * 10**9",
    "10**9 * 'a'",
    "'x' * 100000 + 'y'",
    "1 << 10**9",
    "~1",
    "1 | 2",
    "(x := 1)",
    "[*s]",
    "min(*s)",
    "max(**a)",
    "{**a}",
    "b'bytes'",
    "1j",
    "...",
    "round(1, -10**9)",
    "int('9' * 1000)",
    "str([['x' * 1000] * 100] * 100)",
    "f'{[[s] * 1000] * 1000}'",
    "undefined_name",
    "s[0]()",
    "a['missing']",
    "s['x']",
    "1 / 0",
    "'a' + 1",
    "-s",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_fail(data, source):
    with pytest.raises(ExpressionError):
        evaluate(source, data)
    with pytest.raises(ExpressionError):
        execute(f"x = {source}", dict(data))


SCRIPT_ESCAPES = [
    "import os",
    "from os import system",
    "exec('1')",
    "eval('1')",
    "globals()",
    "while True: pass",
    "for x in []: pass",
    "def f(): pass",
    "async def f(): pass",
    "class A: pass",
    "x = 1; del x",
    "x = 1\ndel x",
    "global x",
    "try:\n    pass\nexcept Exception:\n    pass",
    "with a: pass",
    "raise ValueError()",
    "assert False",
    "return 1",
    "yield 1",
    "x = lambda: 1",
    "x = [y for y in [1]]",
    "if (x := 1): pass",
    "match s:\n    case _:\n        pass",
    "__import__('os').system('id')",
    "x = __import__",
    "__builtins__ = {}",
]


@pytest.mark.parametrize("script", SCRIPT_ESCAPES)
def test_script_escapes_fail(script):
    with pytest.raises(ExpressionError):
        validate(script, mode="exec")
    with pytest.raises(ExpressionError):
        execute(script, {"a": {}, "s": "x"})


def test_error_messages_name_construct_and_line():
    with pytest.raises(ExpressionError) as err:
        evaluate("s.upper", {"s": "x"})
    expected = "attribute access is only allowed on dicts ('.upper' on a str) (line 1)"
    assert str(err.value) == expected
    assert err.value.lineno == 1

    with pytest.raises(ExpressionError, match=r"^name 'x' is not defined \(line 1\)$"):
        evaluate("x", {})

    with pytest.raises(ExpressionError) as err:
        evaluate("open('/etc/passwd')", {})
    assert "function calls are limited to: abs, add_working_days, bool, int, len" in str(err.value)

    with pytest.raises(ExpressionError) as err:
        execute("a = 1\nb = 2\nwhile a:\n    pass", {})
    assert str(err.value) == "a while loop is not allowed (line 3)"
    assert err.value.lineno == 3

    with pytest.raises(ExpressionError, match=r"a lambda is not allowed \(line 2\)"):
        execute("a = 1\nb = (lambda: 1)", {})
    with pytest.raises(ExpressionError, match="a comprehension is not allowed"):
        evaluate("[x for x in ()]", {})
    with pytest.raises(ExpressionError, match=r"del is not allowed \(line 1\)"):
        execute("x = 1; del x", {})
    with pytest.raises(ExpressionError, match=r"^syntax error: .* \(line 2\)$"):
        execute("a = 1\nb = = 2", {})


# -- resource limits --------------------------------------------------------------------------


def test_source_length_is_limited():
    huge = "1 + " * 2000 + "1"
    with pytest.raises(ExpressionError, match="too long"):
        validate(huge, mode="eval")
    with pytest.raises(ExpressionError, match="too long"):
        evaluate("'" + "x" * 10_000 + "'", {})
    with pytest.raises(ExpressionError, match="too long"):
        execute("x = 1\n" * 1000, {})


def test_node_count_is_limited():
    many = "x = [" + ",".join(["1"] * 2200) + "]"
    assert len(many) < evaluator.MAX_SOURCE_CHARS
    with pytest.raises(ExpressionError, match="too complex"):
        validate(many, mode="exec")


@pytest.mark.parametrize(
    "source",
    [
        "(" * 1000 + "1" + ")" * 1000,
        "-(" * 150 + "1" + ")" * 150,
        "[" * 500 + "]" * 500,
        "-" * 4000 + "1",
        "not " * 1000 + "1",
        "1" + " + 1" * 1000,
        "a" + ".b" * 1000,
        "f(" * 1000 + ")" * 1000,
    ],
)
def test_deep_nesting_is_an_expression_error(source):
    with pytest.raises(ExpressionError):
        evaluate(source, {"a": {}})


def test_recursion_error_becomes_expression_error(monkeypatch):
    # Even if the depth check were too generous, running out of stack is an ExpressionError.
    monkeypatch.setattr(evaluator, "MAX_DEPTH", 100_000)
    monkeypatch.setattr(evaluator, "MAX_NODES", 100_000)
    evaluator._parse_checked.cache_clear()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    try:
        with pytest.raises(ExpressionError, match="nested too deeply"):
            evaluate("[" * 95 + "]" * 95, {})
    finally:
        sys.setrecursionlimit(limit)
        evaluator._parse_checked.cache_clear()


def test_integer_and_sequence_limits():
    assert evaluate("2 ** 64", {}) == 2**64
    assert evaluate("10 ** 64 > 0", {}) is True
    with pytest.raises(ExpressionError, match="256 bits"):
        evaluate("10 ** 64 * 10 ** 64", {})
    with pytest.raises(ExpressionError, match="exponent"):
        evaluate("2 ** 65", {})
    assert len(evaluate("'x' * 100000", {})) == 100_000
    with pytest.raises(ExpressionError, match="longer than"):
        evaluate("'x' * 100001", {})
    with pytest.raises(ExpressionError, match="longer than"):
        evaluate("a + a", {"a": [0] * 60_000})
    with pytest.raises(ExpressionError, match="integer"):
        validate("1" + "0" * 100, mode="eval")
    assert evaluate("x / 3", {"x": 1.0}) == pytest.approx(1 / 3)
    with pytest.raises(ExpressionError, match="negative base"):
        evaluate("(-8) ** 0.5", {})
    with pytest.raises(ExpressionError):
        evaluate("int(x)", {"x": math.inf})


# -- validate ---------------------------------------------------------------------------------


def test_validate_accepts_the_language():
    validate("street_review.decision == 'approve'", mode="eval")
    validate("add_working_days(now(), 15)", mode="eval")
    validate(APPLY_REVISION, mode="exec", functions=WITH_TO_FEN)
    validate("x = undefined_at_deploy_time", mode="exec")  # names are only known at run time


def test_validate_refuses_unknown_functions_and_mode_mismatch():
    with pytest.raises(ExpressionError, match="function calls are limited to"):
        validate("frobnicate(1)", mode="eval")
    validate("frobnicate(1)", mode="eval", functions={"frobnicate": abs})
    validate("frobnicate(1)", mode="eval", functions=None)  # syntax only
    with pytest.raises(ExpressionError):
        validate("x = 1", mode="eval")  # statements are not expressions
    with pytest.raises(ExpressionError):
        validate(42, mode="eval")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        validate("1", mode="single")  # type: ignore[arg-type]


def test_module_never_names_the_builtin_code_runners():
    source = Path(evaluator.__file__).read_text(encoding="utf-8")
    for word in ("eval(", "exec(", "compile("):
        assert word not in source
    assert not re.search(r"\b(getattr|__import__|importlib)\b", source)


# -- SpiffWorkflow integration ----------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://example.org/evaluator">
  <bpmn:process id="{pid}" isExecutable="true">
    {body}
  </bpmn:process>
</bpmn:definitions>
"""

ROUTING = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="classify" />
    <bpmn:scriptTask id="classify">
      <bpmn:script>
        amount_fen = to_fen(amount)
        if amount_fen &gt; 1000000:
            route = {'level': 'district'}
        else:
            route = {'level': 'street'}
        route.note = f"{amount} yuan"
      </bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="classify" targetRef="gateway" />
    <bpmn:exclusiveGateway id="gateway" default="to_street" />
    <bpmn:sequenceFlow id="to_district" sourceRef="gateway" targetRef="end_district">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        route.level == 'district' and amount_fen &gt; 0
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_street" sourceRef="gateway" targetRef="end_street" />
    <bpmn:endEvent id="end_district" />
    <bpmn:endEvent id="end_street" />
"""

EVIL = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evil" />
    <bpmn:scriptTask id="evil">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="end" />
    <bpmn:endEvent id="end" />
"""

DUE_DATE = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="street_review" />
    <bpmn:userTask id="street_review" name="街道审核" />
    <bpmn:boundaryEvent id="street_review_overdue" attachedToRef="street_review"
        cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">add_working_days(now(), 15)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="street_review_overdue" targetRef="escalated" />
    <bpmn:endEvent id="escalated" />
    <bpmn:sequenceFlow id="f3" sourceRef="street_review" targetRef="end" />
    <bpmn:endEvent id="end" />
"""


def _start(pid: str, body: str, data: dict | None = None) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(BPMN.format(pid=pid, body=body).encode())
    # to_fen comes from the handoff's plugin, as a process's own function would
    workflow = BpmnWorkflow(parser.get_spec(pid), script_engine=make_script_engine(WITH_TO_FEN))
    [start] = workflow.get_tasks(state=TaskState.READY)
    start.data.update(data or {})
    return workflow


def _reached(workflow: BpmnWorkflow, bpmn_id: str) -> bool:
    return any(
        t.task_spec.bpmn_id == bpmn_id and t.state == TaskState.COMPLETED
        for t in workflow.get_tasks()
    )


@pytest.mark.parametrize(
    ("amount", "end", "level"),
    [("20000.00", "end_district", "district"), ("5000", "end_street", "street")],
)
def test_workflow_with_script_and_gateway(amount, end, level):
    workflow = _start("routing", ROUTING, {"amount": amount})
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert _reached(workflow, end)
    data = workflow.last_task.data
    assert data["route"] == {"level": level, "note": f"{amount} yuan"}
    assert data["amount_fen"] == to_fen(amount)


def test_workflow_script_error_is_reported_with_line():
    workflow = _start("routing", ROUTING, {"amount": "12.345"})
    with pytest.raises(WorkflowException) as err:
        workflow.do_engine_steps()
    assert err.value.error_type == "ExpressionError"
    assert isinstance(err.value.__context__, ExpressionError)
    assert "to_fen()" in str(err.value)
    assert err.value.line_number == 2
    assert "to_fen(amount)" in err.value.error_line
    assert not workflow.is_completed()


@pytest.mark.parametrize(
    "script",
    [
        "__import__('os').system('touch {marker}')",
        "x = 1\nopen('{marker}', 'w')",
        "().__class__.__base__.__subclasses__()",
    ],
)
def test_workflow_refuses_dangerous_script(tmp_path, script):
    marker = tmp_path / "pwned"
    script = script.format(marker=marker)
    workflow = _start("evil", EVIL.format(script=script.replace("'", "&apos;")))
    with pytest.raises(WorkflowException) as err:
        workflow.do_engine_steps()
    assert err.value.error_type == "ExpressionError"
    assert isinstance(err.value.__context__, ExpressionError)
    assert not marker.exists()
    assert not workflow.is_completed()
    [evil] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "evil"]
    assert evil.state == TaskState.ERROR
    assert "x" not in evil.data  # nothing of the script was applied
    with pytest.raises(ExpressionError):
        workflow.script_engine.validate(script, mode="exec")


def test_due_date_timer_fires_after_fifteen_working_days():
    clock.freeze(T0)  # Thu 2026-09-24 10:30 Shanghai; due 2026-10-22 23:59:59 Shanghai
    workflow = _start("due", DUE_DATE)
    workflow.do_engine_steps()
    [timer] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "street_review_overdue"]
    assert timer.state == TaskState.WAITING

    clock.freeze(datetime(2026, 10, 22, 23, 59, 0, tzinfo=CST))
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert timer.state == TaskState.WAITING
    assert not _reached(workflow, "escalated")

    clock.advance(timedelta(minutes=2))
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert timer.state == TaskState.COMPLETED
    assert _reached(workflow, "escalated")
    assert timer.internal_data["event_value"] == "2026-10-22T15:59:59+00:00"


def test_environment_and_engine_api():
    env = RestrictedEnvironment()
    context = {"x": 1}
    assert env.evaluate("x + y", context, {"y": 2}) == 3
    assert env.execute("z = x + y", context, {"y": 2}) is True
    assert context == {"x": 1, "z": 3}  # the external context is read, never copied in
    with pytest.raises(ExpressionError, match="service tasks"):
        env.call_service(context, operation_name="x")

    engine = make_script_engine({"twice": lambda v: 2 * v})
    assert isinstance(engine, RestrictedScriptEngine)
    engine.validate("twice(2)")
    with pytest.raises(ExpressionError):
        engine.validate("len(2)")
    assert engine.environment.evaluate("twice(x)", {"x": 4}) == 8


def test_time_budget(monkeypatch):
    monkeypatch.setattr(evaluator, "MAX_SECONDS", -1.0)
    with pytest.raises(ExpressionError, match="took longer than"):
        evaluate("1 + 1", {})


def test_str_of_moderate_data_is_fine():
    assert len(evaluate("str([1] * 10000)", {})) == 30_000
    assert evaluate("str(d)", {"d": {"a": [1, None]}}) == "{'a': [1, None]}"


def test_external_context_is_read_only_for_scripts():
    env = RestrictedEnvironment()
    external = {"obj": {"k": 1}}
    context = {}
    env.execute("copy_of_k = obj.k\nobj.k = 2", context, external)
    assert context == {"copy_of_k": 1}
    assert external == {"obj": {"k": 1}}
