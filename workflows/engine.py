"""Running SpiffWorkflow instances and (de)serialising their state.

The stored state is SpiffWorkflow's own dictionary form of the workflow without its spec: the
spec comes from the cached, immutable process definition, which keeps each row small and means a
running instance stays on the version it started with.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from . import (
    clock,  # noqa: F401  (installs the controllable clock into SpiffWorkflow's timers)
    plugins,
)
from .definitions import ParsedProcess
from .evaluator import DEFAULT_FUNCTIONS
from .script_engine import RestrictedScriptEngine, make_script_engine

SCRIPT_ENGINE = make_script_engine()
_engines: dict[tuple[str, int], RestrictedScriptEngine] = {}


def script_engine(process_key: str) -> RestrictedScriptEngine:
    """The evaluator for a process: the default functions plus its plugin's."""
    functions = plugins.for_process(process_key).functions
    if not functions:
        return SCRIPT_ENGINE
    cache_key = (process_key, plugins.REGISTRY.version)
    engine = _engines.get(cache_key)
    if engine is None:
        engine = _engines[cache_key] = make_script_engine({**DEFAULT_FUNCTIONS, **functions})
    return engine


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the state and takes it back from the cached definition.

    `to_dict` never converts the spec at all (converting it only to drop it cost more than the
    task tree itself); the stored dictionary is otherwise exactly SpiffWorkflow's own.
    """

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
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


_PLAIN = (str, int, float, bool, type(None))
_CONTAINERS = (dict, list, set)


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's task format (data stored as a delta against the parent's data), written
    and read with less overhead: ids are parsed once, empty and plain values skip the generic
    registry walk."""

    def to_dict(self, task):
        tasks = task.workflow.tasks
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            a, b = parent.data, task.data
            delta = {
                "updates": {k: v for k, v in b.items() if k not in a or v != a[k]},
                "deletions": [k for k in a if k not in b],
            }
            data = {}
        internal = task.internal_data
        return {
            "id": _str(task.id),
            "parent": _str(task._parent) if parent is not None else None,
            "children": [_str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        parent_id = dct["parent"]
        task._parent = _uuid(parent_id) if parent_id is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = self.registry.restore(internal) if internal else {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent) if task._parent is not None else None
        if delta and parent is not None:
            # DeepMerge.merge({}, parent.data): a copy with mutable values copied one level deep
            data = {
                k: (copy(v) if isinstance(v, _CONTAINERS) else v) for k, v in parent.data.items()
            }
            updates = delta.get("updates", {})
            if updates:
                data.update(_restore(self.registry, updates))
            for key in delta.get("deletions", ()):
                data.pop(key, None)
        else:
            data = _restore(self.registry, dct["data"])
        task.data = data
        return task


def _restore(registry, values: dict) -> dict:
    if all(type(v) in _PLAIN for v in values.values()):
        return dict(values)
    return registry.restore(values)


@lru_cache(maxsize=4096)
def _uuid(value: str) -> UUID:
    return UUID(value)


@lru_cache(maxsize=4096)
def _str(value: _uuid) -> str:
    return str(value)


_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
_config[SpiffTask] = _TaskConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


# Set on a workflow made by `new_workflow` until its first projection sync: its instance can
# have no task rows yet, so the projection need not look for any.
FRESH = "_workflows_fresh"


def new_workflow(parsed: ParsedProcess, data: dict[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(
        parsed.spec, parsed.subprocess_specs, script_engine=script_engine(parsed.key)
    )
    setattr(workflow, FRESH, True)
    workflow.data.update(data)
    # The start task hands the workflow data to the first tasks.
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    return workflow


def dump(workflow: BpmnWorkflow) -> dict[str, Any]:
    return _SERIALIZER.to_dict(workflow)


def load(parsed: ParsedProcess, state: dict[str, Any]) -> BpmnWorkflow:
    dct = dict(state, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs)
    workflow = _SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine(parsed.key)
    return workflow


def advance(workflow: BpmnWorkflow) -> None:
    """Run automatic steps and fire due timers until only people or time can move it on."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


@dataclass
class Snapshot:
    """What the projection needs from a workflow, gathered in one walk of its task tree (the
    same tasks, in the same order, as `ready_user_tasks` and `next_timer_at` find)."""

    ready_user_tasks: list[SpiffTask]
    next_timer_at: datetime | None


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    ready: list[SpiffTask] = []
    dues: list[datetime] = []
    for task in workflow.get_tasks():
        state = task._state
        if state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(task)
        elif state == TaskState.WAITING:
            if is_waiting_for(task.task_spec, TimerEventDefinition):
                due = timer_due(task)
                if due is not None:
                    dues.append(due)
    return Snapshot(ready, min(dues) if dues else None)


def ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    return [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def event_definitions(spec) -> list:
    """The event definitions a catching task spec waits for: one, or those of an event-based
    gateway or a multiple event (SpiffWorkflow 3.2: `MultipleEventDefinition`)."""
    if not isinstance(spec, CatchingEvent):
        return []
    definition = spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def is_waiting_for(spec, kind: type) -> bool:
    return any(isinstance(d, kind) for d in event_definitions(spec))


def iter_timer_tasks(workflow: BpmnWorkflow, state: TaskState) -> Iterator[SpiffTask]:
    for task in workflow.get_tasks(state=state):
        if is_waiting_for(task.task_spec, TimerEventDefinition):
            yield task


def timer_value(task: SpiffTask) -> Any:
    """What a timer waits for: the evaluated date (text), or a cycle's state (a dict).

    Version note: SpiffWorkflow 3.x keeps it in the task's internal data as `event_value`.
    """
    return task._get_internal_data("event_value")


def set_timer_date(task: SpiffTask, value: str) -> None:
    """Move a waiting date timer to `value` (ISO 8601), as if its expression had said so."""
    task._set_internal_data(event_value=value)


def timer_due(task: SpiffTask) -> datetime | None:
    value = timer_value(task)
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


def spiff_task(workflow: BpmnWorkflow, spiff_id: str) -> SpiffTask | None:
    """The engine task behind a task row (rows keep SpiffWorkflow's task id as text)."""
    return workflow.get_task_from_id(_uuid(spiff_id))
