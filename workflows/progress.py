"""Which sequence flows an instance actually took, read from SpiffWorkflow's task tree.

Both ends of a flow having run does not mean the flow did: a gateway that rejected has run, and so
may the step its other flow leads to, through some other path; a loop's back-edge joins two steps
that both ran even when nobody went round the loop. The task tree records the real path: each task
hangs under the task that passed the token on to it, and a step run twice is two tasks.

SpiffWorkflow's specs do not keep sequence-flow ids (an exclusive gateway's `cond_task_specs` holds
(condition expression, target spec name) pairs), so the flows are identified by the BPMN ids at
their ends and named from the file: `workflows.diagram.sequence_flows(bpmn_xml)` builds the
mapping from the same XML the diagram is drawn from.

This module depends on SpiffWorkflow only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

__all__ = ["taken_flows", "taken_transitions"]

# The token reached a task in one of these states (a predicted task is FUTURE, LIKELY or MAYBE).
_REACHED = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED
_REACHED |= TaskState.ERROR


def taken_flows(workflow: BpmnWorkflow, flows: Mapping[tuple[str, str], Iterable[str]]) -> set[str]:
    """The ids of the sequence flows the workflow has traversed so far.

    `flows` maps (source id, target id) to the ids of the sequence flows from that source to that
    target, as `workflows.diagram.sequence_flows` returns it. Where more than one flow joins the
    same two elements the engine's tree cannot tell them apart, so all of them count as taken.
    A transition with no flow in `flows` (e.g. into a boundary event) is left out.
    """
    taken: set[str] = set()
    for pair in taken_transitions(workflow):
        taken.update(flows.get(pair, ()))
    return taken


def taken_transitions(workflow: BpmnWorkflow) -> set[tuple[str, str]]:
    """(source BPMN id, target BPMN id) of every step the token took, main process and
    sub-processes alike.

    A task the token reached (READY, STARTED, WAITING, COMPLETED, ERROR, or CANCELLED after
    being reached) stands for a step from the nearest BPMN element above it in the tree. Engine-only
    specs in between (`Start`, `X.BoundaryEventSplit`, `X.BoundaryEventJoin`, `<process>.EndJoin`,
    `End`) are stepped over; every task on the way must be COMPLETED and each link must be a
    connection between the two specs (so a multi-instance task's child instances or a
    sub-process's start do not count as steps from their parent). Boundary events are armed
    alongside their task, not entered by a flow, so no step leads to one.
    """
    pairs: set[tuple[str, str]] = set()
    for task in _all_tasks(workflow):
        target = getattr(task.task_spec, "bpmn_id", None)
        if not target or isinstance(task.task_spec, BoundaryEvent) or not _reached(task):
            continue
        source = _source(task)
        if source is not None:
            pairs.add((source, target))
    return pairs


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    # `tasks` holds every task of a (sub)workflow, finished or not; the top workflow keeps every
    # sub-process (nested ones too) in `subprocesses`.
    yield from workflow.tasks.values()
    for subprocess in getattr(workflow, "subprocesses", {}).values():
        yield from subprocess.tasks.values()


def _reached(task: Task) -> bool:
    if task.has_state(_REACHED):
        return True
    # Cancelled after the token got there (an open task of a cancelled or terminated instance, a
    # task interrupted by its boundary event): its parent had completed and passed it on.
    # Predicted tasks are dropped from the tree rather than cancelled.
    parent = task.parent
    return (
        task.has_state(TaskState.CANCELLED)
        and parent is not None
        and parent.has_state(TaskState.COMPLETED)
    )


def _source(task: Task) -> str | None:
    """The BPMN id of the element that passed the token to `task`, if any."""
    child, parent = task, task.parent
    while parent is not None:
        if not parent.has_state(TaskState.COMPLETED):
            return None
        if child.task_spec not in parent.task_spec.outputs:
            return None
        bpmn_id = getattr(parent.task_spec, "bpmn_id", None)
        if bpmn_id:
            return bpmn_id
        child, parent = parent, parent.parent
    return None
