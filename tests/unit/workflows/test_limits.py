"""Issue 14.2-14.5 on both databases: computed timers, multi-instance counts, the instance's
state size and engine faults are refused with a clear error naming the element, never a 500
or a hang, and nothing is stored; deployment refuses what it can see."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta

import pytest

from workflows import clock, definitions, limits, service
from workflows.errors import EngineFailure, LimitExceeded

from .processes import (
    REVIEW,
    cardinality,
    chain,
    counts,
    deploy,
    deploy_unchecked,
    document,
    first_open,
    instance,
    open_tasks,
    script,
    start,
    timer,
)

FAST = 2.0


def refused(db, definition, data, element: str | None, words: str = "") -> EngineFailure:
    """Starting refuses with an EngineFailure on ``element``, fast, storing nothing."""
    before = counts(db)
    started = time.monotonic()
    with pytest.raises(EngineFailure) as err:
        start(db, definition, data)
    assert time.monotonic() - started < FAST
    assert err.value.element == element
    assert (err.value.fields or {}).get("element") == element
    assert words in err.value.message, err.value.message
    assert counts(db) == before
    return err.value


# --- 2. timers ---------------------------------------------------------------------------------

BAD_TIMERS = [
    ("timeDuration", "P100000000Y", "longer than 10 years"),
    ("timeCycle", "R/PT0S", "at least 1 minute"),
    ("timeCycle", "R100000/PT0S", "1 to 1000 times"),
    ("timeDuration", "garbage", "not a valid ISO 8601"),
    ("timeDuration", 5, "not an ISO 8601"),
    ("timeDuration", None, "not an ISO 8601"),
    ("timeDuration", [1], "not an ISO 8601"),
    ("timeDate", "0001-01-01T00:00:00+14:00", "1970–2200"),
    ("timeDate", "2027-01-04T09:00:00", "no time zone"),
    ("timeDate", "P10D", "is a duration"),
]


@pytest.mark.parametrize(("kind", "value", "words"), BAD_TIMERS)
def test_a_computed_timer_value_is_a_clear_error_not_a_hang(db, kind, value, words):
    definition = deploy(db, chain(timer("wait", kind, "when"), REVIEW))
    refused(db, definition, {"when": value}, "wait", words)


def test_good_computed_timers_still_wait(db):
    for kind, value in [
        ("timeDuration", "P3D"),
        ("timeCycle", "R3/PT1H"),
        ("timeDate", "2027-01-04T09:00:00+08:00"),
    ]:
        instance_id = start(
            db, deploy(db, chain(timer("wait", kind, "when"), REVIEW)), {"when": value}
        )
        assert instance(db, instance_id).next_timer_at is not None


def test_a_bad_timer_reached_by_the_timer_worker_marks_the_instance_error(db):
    xml = chain(
        timer("first", "timeDuration", "P1D"), timer("then", "timeDuration", "when"), REVIEW
    )
    bad = start(db, deploy(db, xml), {"when": "P100000000Y"})
    good = start(db, deploy(db, xml), {"when": "P1D"})
    clock.advance(timedelta(days=2))
    started = time.monotonic()
    assert service.fire_due_timers(db) == 1  # the good one; the bad one is marked
    assert time.monotonic() - started < FAST
    row = instance(db, bad)
    assert row.status == "error" and "'then'" in row.error and "10 years" in row.error
    assert instance(db, good).status == "running"


@pytest.mark.parametrize(
    ("kind", "text", "words"),
    [
        ("timeDuration", "P100000000Y", "longer than 10 years"),
        ("timeCycle", "R/PT0S", "at least 1 minute"),
        ("timeCycle", "R100000/PT0S", "1 to 1000 times"),
        ("timeDuration", "5", "does not give an ISO 8601"),
        ("timeDuration", "None", "does not give an ISO 8601"),
        ("timeDuration", "[1]", "does not give an ISO 8601"),
        ("timeDate", "0001-01-01T00:00:00+14:00", "1970–2200"),  # was an OverflowError (500)
    ],
)
def test_literal_timers_are_refused_at_deploy(db, kind, text, words):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(timer("wait", kind, text), REVIEW))
    assert err.value.element == "wait" and words in str(err.value)


# --- 3. multi-instance -------------------------------------------------------------------------

SUB = (
    '<bpmn:startEvent id="s1"/>'
    '<bpmn:userTask id="each" camunda:candidateGroups="street_office"/>'
    '<bpmn:endEvent id="e1"/><bpmn:sequenceFlow id="x1" sourceRef="s1" targetRef="each"/>'
    '<bpmn:sequenceFlow id="x2" sourceRef="each" targetRef="e1"/>'
)


def per_item(loop: str) -> str:
    """A subprocess run once per item, each with a task in the street's inbox."""
    return f'<bpmn:subProcess id="per_item">{loop}{SUB}</bpmn:subProcess>'


COLLECTION = (
    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items"'
    ' camunda:elementVariable="item"/>'
)


@pytest.fixture
def max_three(monkeypatch):
    monkeypatch.setattr(limits, "SETTINGS", dataclasses.replace(limits.SETTINGS, multi_instance=3))


def test_the_default_limit_is_500():
    assert limits.Settings().multi_instance == 500


@pytest.mark.parametrize("text", ["100000", "100_000", "10 ** 5", "4", "-1", "1.5", "'x'"])
def test_literal_and_constant_cardinalities_are_checked_at_deploy(db, max_three, text):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(per_item(cardinality(text))))
    assert err.value.element == "per_item", err.value
    assert "cardinality" in str(err.value)


def test_computed_cardinality_over_the_limit_is_refused(db, max_three):
    definition = deploy(db, chain(per_item(cardinality("n"))))
    refused(db, definition, {"n": 100_000}, "per_item", "not between 0 and 3")
    refused(db, definition, {"n": 4}, "per_item", "not between 0 and 3")
    refused(db, definition, {"n": "many"}, "per_item", "whole number")
    instance_id = start(db, definition, {"n": 3})
    assert [t.key for t in open_tasks(db, instance_id)] == ["each"] * 3


def test_a_collection_over_the_limit_is_refused(db, max_three):
    definition = deploy(db, chain(per_item(COLLECTION)))
    refused(db, definition, {"items": list(range(100_000))}, "per_item", "100000 items")
    refused(db, definition, {"items": ["a", "b", "c", "d"]}, "per_item", "more than 3")
    instance_id = start(db, definition, {"items": ["a", "b", "c"]})
    assert len(open_tasks(db, instance_id)) == 3
    # a collection given as the cardinality (SpiffWorkflow's Camunda reading) is counted too
    as_cardinality = deploy(db, chain(per_item(cardinality("items")), key="q"))
    refused(db, as_cardinality, {"items": [1, 2, 3, 4]}, "per_item", "more than 3")


def test_a_collection_without_its_element_variable_is_refused_at_deploy(db):
    loop = '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items"/>'
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(per_item(loop)))
    assert err.value.element == "per_item" and "elementVariable" in str(err.value)


def test_sequential_and_script_multi_instance_are_bounded(db, max_three):
    sequential = deploy(db, chain(per_item(cardinality("n", sequential=True))))
    refused(db, sequential, {"n": 4}, "per_item", "not between 0 and 3")
    scripts = deploy(db, chain(script("each_one", "x = 1", cardinality("n")), REVIEW, key="q"))
    refused(db, scripts, {"n": 4}, "each_one", "not between 0 and 3")


def test_the_limit_comes_from_the_environment():
    assert limits.Settings.from_env({"MAX_MULTI_INSTANCE": "20"}).multi_instance == 20
    assert limits.Settings.from_env({"MAX_INSTANCE_STATE_BYTES": "5000"}).state_bytes == 5000
    assert limits.Settings.from_env({"MAX_STEP_SECONDS": "0.5"}).step_seconds == 0.5
    assert limits.Settings.from_env({}) == limits.Settings()
    for name, raw in [
        ("MAX_MULTI_INSTANCE", "0"),
        ("MAX_MULTI_INSTANCE", "lots"),
        ("MAX_INSTANCE_STATE_BYTES", "-1"),
        ("MAX_STEP_SECONDS", "inf"),
        ("MAX_STEP_SECONDS", "nan"),
    ]:
        with pytest.raises(ValueError, match=name):
            limits.Settings.from_env({name: raw})


# --- 4. the instance's state -------------------------------------------------------------------


def test_the_default_state_cap_is_one_megabyte():
    assert limits.Settings().state_bytes == 1_000_000


def test_a_step_that_would_pass_the_state_cap_is_refused(db, actor):
    # eleven names for one 100,000-character string: 1.1 MB of JSON, each value small
    grow = "a = 'x' * 100000\n" + "\n".join(f"v{i} = a" for i in range(10))
    xml = chain(REVIEW, script("grow", grow), REVIEW.replace('"review"', '"next"'))
    instance_id = start(db, deploy(db, xml))
    review = first_open(db, instance_id)
    before_state = instance(db, instance_id).state
    before = counts(db)
    with pytest.raises(LimitExceeded) as err:
        service.complete_task(db, review.id, actor("street.rg"), {})
    assert err.value.code == "limit_exceeded" and "1000000" in err.value.message
    assert counts(db) == before and instance(db, instance_id).state == before_state
    assert instance(db, instance_id).status == "running"  # refused, not broken
    assert [t.id for t in open_tasks(db, instance_id)] == [review.id]


def test_the_state_cap_is_measured_as_stored(db, monkeypatch):
    monkeypatch.setattr(
        limits, "SETTINGS", dataclasses.replace(limits.SETTINGS, state_bytes=20_000)
    )
    xml = chain(script("grow", "a = 'x' * size"), REVIEW)
    definition = deploy(db, xml)
    refused(db, definition, {"size": 20_000}, None, "over its limit of 20000")
    instance_id = start(db, definition, {"size": 100})
    assert limits.state_bytes(instance(db, instance_id).state) <= 20_000
    assert limits.state_bytes({"x": "委"}) == len(json.dumps({"x": "委"})) == 15  # \\u59d4


# --- 5. names, structure and engine faults -----------------------------------------------------


def test_an_outcome_longer_than_its_column_is_refused_at_deploy(db):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(REVIEW, end="end_" + "o" * 41))
    assert "outcome" in str(err.value) and "at most 40" in str(err.value)
    deploy(db, chain(REVIEW, end="end_" + "o" * 40 + "__x"))


def test_a_100kb_name_is_refused_at_deploy(db):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(REVIEW.replace('name="审核"', f'name="{"名" * 100_000}"')))
    assert err.value.element == "review" and "longer than 200" in str(err.value)


SELF_LOOP = document(
    '<bpmn:startEvent id="start"/><bpmn:scriptTask id="s" scriptFormat="python">'
    "<bpmn:script>n = 1</bpmn:script></bpmn:scriptTask><bpmn:parallelGateway id='g'/>"
    '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="s"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="s"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="end"/>'
)
COUNTING_LOOP = document(
    '<bpmn:startEvent id="start"/><bpmn:scriptTask id="s" scriptFormat="python">'
    "<bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>"
    '<bpmn:exclusiveGateway id="g" default="f3"/>' + REVIEW + '<bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="s"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="s">'
    "<bpmn:conditionExpression>n &lt; limit</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>'
)


@pytest.mark.parametrize("xml", [SELF_LOOP, COUNTING_LOOP], ids=["self_loop", "counting_loop"])
def test_a_loop_with_nothing_to_wait_for_is_refused_at_deploy(db, xml):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, xml)
    problem = err.value.problems[0]
    assert problem.element == "s" and "s, g" in problem.message_en
    assert "nothing to wait for" in problem.message_en and "s、g" in problem.message


def test_a_loop_through_a_user_task_deploys(db):
    loop = COUNTING_LOOP.replace('targetRef="s">', 'targetRef="again">').replace(
        '<bpmn:endEvent id="end"/>',
        '<bpmn:endEvent id="end"/>'
        + REVIEW.replace('"review"', '"again"')
        + '<bpmn:sequenceFlow id="f5" sourceRef="again" targetRef="s"/>',
    )
    deploy(db, loop)


def test_an_unbounded_standard_loop_on_a_script_is_refused(db):
    loop = (
        "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>True</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics>"
    )
    with pytest.raises(definitions.DefinitionError) as err:
        deploy(db, chain(script("s", "x = 1", loop), REVIEW))
    assert err.value.element == "s" and "loopMaximum" in str(err.value)
    bounded = '<bpmn:standardLoopCharacteristics loopMaximum="3"/>'
    deploy(db, chain(script("s", "x = 1", bounded), REVIEW))


def test_engine_faults_of_an_older_version_are_a_clean_error(db):
    """A version deployed before these checks: SpiffWorkflow's RecursionError on the loop
    becomes an EngineFailure (409), nothing stored."""
    definition = deploy_unchecked(db, SELF_LOOP)
    before = counts(db)
    with pytest.raises(EngineFailure) as err:
        start(db, definition)
    assert "RecursionError" in err.value.message
    assert counts(db) == before


def test_a_value_too_long_for_its_column_is_a_clean_error(db, backend):
    """An older version whose outcome does not fit: PostgreSQL refuses the value (a 409, not a
    500); SQLite stores any length."""
    definition = deploy_unchecked(db, chain(end="end_" + "o" * 60))
    if backend == "postgresql":
        with pytest.raises(EngineFailure) as err:
            start(db, definition)
        assert "column" in err.value.message
    else:
        assert instance(db, start(db, definition)).outcome == "o" * 60
