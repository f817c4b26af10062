"""workflows.clock: the controllable clock and its patch into SpiffWorkflow's timer events."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from workflows import clock

T0 = datetime(2029, 12, 31, 23, 0, tzinfo=UTC)
DUE = "2030-01-01T00:00:00+00:00"

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://example.org/clock">
  <bpmn:process id="{pid}" isExecutable="true">
    {body}
  </bpmn:process>
</bpmn:definitions>
"""

INTERMEDIATE = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">"{due}"</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />
"""

BOUNDARY = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="review" />
    <bpmn:boundaryEvent id="review_overdue" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">"{due}"</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="review_overdue" targetRef="escalated" />
    <bpmn:endEvent id="escalated" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
"""


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


def _workflow(pid: str, body: str) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(BPMN.format(pid=pid, body=body.format(due=DUE)).encode())
    workflow = BpmnWorkflow(parser.get_spec(pid))
    workflow.do_engine_steps()
    return workflow


def _tick(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()  # SpiffWorkflow 3.2's name for the deprecated refresh_waiting_tasks()
    workflow.do_engine_steps()


def _state(workflow: BpmnWorkflow, bpmn_id: str) -> TaskState:
    tasks = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == bpmn_id]
    assert len(tasks) == 1, bpmn_id
    return tasks[0].state


# -- the clock itself ----------------------------------------------------------------------


def test_now_is_aware_utc_and_real_by_default():
    before = datetime.now(UTC)
    current = clock.now()
    after = datetime.now(UTC)
    assert current.utcoffset() == timedelta(0)
    assert before <= current <= after


def test_freeze_as_plain_call_and_advance():
    clock.freeze(T0)
    assert clock.now() == T0
    assert clock.now() == T0  # stands still
    assert clock.advance(timedelta(hours=2)) == T0 + timedelta(hours=2)
    assert clock.now() == T0 + timedelta(hours=2)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_freeze_converts_to_utc():
    shanghai_noon = datetime(2026, 10, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    clock.freeze(shanghai_noon)
    assert clock.now() == shanghai_noon
    assert clock.now().tzinfo == UTC
    assert clock.now().hour == 4


def test_freeze_as_context_manager_restores_previous_state():
    clock.freeze(T0)
    with clock.freeze(T0 + timedelta(days=10)) as inside:
        assert inside == T0 + timedelta(days=10)
        assert clock.now() == inside
    assert clock.now() == T0
    clock.reset()
    with clock.freeze(T0):
        assert clock.now() == T0
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_advance_without_freeze_offsets_real_time():
    clock.advance(timedelta(days=3))
    expected = datetime.now(UTC) + timedelta(days=3)
    assert abs(clock.now() - expected) < timedelta(seconds=5)
    clock.advance(timedelta(days=-3))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_travel_runs_from_the_moment_and_restores_when_used_as_a_block():
    clock.freeze(T0)
    with clock.travel(T0 - timedelta(days=200)) as inside:
        assert abs(inside - (T0 - timedelta(days=200))) < timedelta(seconds=5)
        first = clock.now()
        time.sleep(0.01)
        assert clock.now() > first  # it runs: not frozen
        assert clock.advance(timedelta(days=10)) - first >= timedelta(days=10)
    assert clock.now() == T0  # the frozen clock is back
    clock.reset()
    clock.travel(T0)  # a plain call stays in effect
    time.sleep(0.01)
    assert T0 < clock.now() < T0 + timedelta(seconds=5)


def test_freeze_refuses_naive_and_advance_refuses_non_timedelta():
    with pytest.raises(ValueError):
        clock.freeze(datetime(2030, 1, 1))
    with pytest.raises(ValueError):
        clock.travel(datetime(2030, 1, 1))
    with pytest.raises(TypeError):
        clock.advance(5)


def test_concurrent_advances_are_not_lost():
    clock.freeze(T0)

    def work():
        for _ in range(1000):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == T0 + timedelta(seconds=4000)


# -- the SpiffWorkflow patch ---------------------------------------------------------------


def test_spiff_timer_module_reads_our_clock():
    assert spiff_timer.datetime is clock.ClockDatetime
    clock.freeze(T0)
    assert spiff_timer.datetime.now(UTC) == T0
    assert spiff_timer.datetime.now(timezone(timedelta(hours=8))) == T0
    assert isinstance(spiff_timer.datetime.now(UTC), spiff_timer.datetime)
    assert spiff_timer.datetime.now().tzinfo is None  # naive local, like datetime.now()
    # The real datetime class is untouched.
    assert datetime.now(UTC) != T0


def test_intermediate_timer_fires_only_after_advance():
    clock.freeze(T0)
    workflow = _workflow("intermediate", INTERMEDIATE)
    assert _state(workflow, "wait") == TaskState.WAITING

    _tick(workflow)
    assert _state(workflow, "wait") == TaskState.WAITING
    assert not workflow.is_completed()

    clock.advance(timedelta(minutes=59))  # 23:59, still before the due date
    _tick(workflow)
    assert _state(workflow, "wait") == TaskState.WAITING

    clock.advance(timedelta(minutes=2))  # 00:01, past it
    _tick(workflow)
    assert _state(workflow, "wait") == TaskState.COMPLETED
    assert workflow.is_completed()


def test_non_interrupting_boundary_timer_fires_only_after_advance():
    clock.freeze(T0)
    workflow = _workflow("boundary", BOUNDARY)
    assert _state(workflow, "review") == TaskState.READY
    assert _state(workflow, "review_overdue") == TaskState.WAITING

    _tick(workflow)
    assert _state(workflow, "review_overdue") == TaskState.WAITING
    assert _state(workflow, "escalated") != TaskState.COMPLETED

    clock.advance(timedelta(hours=2))
    _tick(workflow)
    assert _state(workflow, "review_overdue") == TaskState.COMPLETED
    assert _state(workflow, "escalated") == TaskState.COMPLETED
    assert _state(workflow, "review") == TaskState.READY  # non-interrupting: still open
    assert not workflow.is_completed()
