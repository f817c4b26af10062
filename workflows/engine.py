"""Running SpiffWorkflow instances and (de)serialising their state.

The stored state is SpiffWorkflow's own dictionary form of the workflow without its spec: the
spec comes from the cached, immutable process definition, which keeps each row small and means a
running instance stays on the version it started with.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from . import clock  # noqa: F401  (installs the controllable clock into SpiffWorkflow's timers)
from .definitions import ParsedProcess
from .evaluator import make_script_engine

SCRIPT_ENGINE = make_script_engine()


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the state and takes it back from the cached definition."""

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        del dct["spec"], dct["subprocess_specs"]
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value: str) -> UUID:
    return UUID(value)


_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def new_workflow(parsed: ParsedProcess, data: dict[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.data.update(data)
    # The start task hands the workflow data to the first tasks.
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    return workflow


def dump(workflow: BpmnWorkflow) -> dict[str, Any]:
    return _SERIALIZER.to_dict(workflow)


def load(parsed: ParsedProcess, state: dict[str, Any]) -> BpmnWorkflow:
    dct = dict(state, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs)
    workflow = _SERIALIZER.from_dict(dct)
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


def advance(workflow: BpmnWorkflow) -> None:
    """Run automatic steps and fire due timers until only people or time can move it on."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    return [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def iter_timer_tasks(workflow: BpmnWorkflow, state: TaskState) -> Iterator[SpiffTask]:
    for task in workflow.get_tasks(state=state):
        spec = task.task_spec
        if isinstance(spec, CatchingEvent) and isinstance(
            spec.event_definition, TimerEventDefinition
        ):
            yield task


def timer_due(task: SpiffTask) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, str):
        return TimerEventDefinition.get_datetime(value)
    if isinstance(value, dict) and value.get("next"):  # cycle timers
        return datetime.fromisoformat(value["next"])
    return None


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    dues = [d for t in iter_timer_tasks(workflow, TaskState.WAITING) if (d := timer_due(t))]
    return min(dues) if dues else None


def boundary_timers(task: SpiffTask) -> list[SpiffTask]:
    """The timer boundary events attached to a user task (siblings under its boundary split)."""
    parent = task.parent
    if parent is None or not parent.task_spec.name.endswith(".BoundaryEventSplit"):
        return []
    return [
        t
        for t in parent.children
        if t is not task
        and isinstance(t.task_spec, CatchingEvent)
        and isinstance(t.task_spec.event_definition, TimerEventDefinition)
    ]


def outcome(workflow: BpmnWorkflow) -> str | None:
    """The outcome named by the end event reached: `end_<outcome>[__suffix]`."""
    ends = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.name.startswith("end_")
    ]
    if not ends:
        return None
    last = max(ends, key=lambda t: t.last_state_change)
    return last.task_spec.name[len("end_") :].split("__", 1)[0]


def element_states(workflow: BpmnWorkflow) -> dict[str, str]:
    """BPMN element id -> done / active / waiting, for drawing progress on the diagram."""
    states: dict[str, str] = {}
    rank = {"done": 1, "waiting": 2, "active": 3}
    for task in workflow.get_tasks():
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.READY | TaskState.STARTED):
            state = "active"
        elif task.has_state(TaskState.WAITING):
            state = "waiting"
        elif task.has_state(TaskState.COMPLETED):
            state = "done"
        else:
            continue
        if rank[state] > rank.get(states.get(bpmn_id, ""), 0):
            states[bpmn_id] = state
    return states


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The instance data now: that of an open task, else of the last completed task."""
    ready = workflow.get_tasks(state=TaskState.READY)
    source = ready[0] if ready else workflow.last_task
    return dict(source.data) if source is not None else dict(workflow.data)
