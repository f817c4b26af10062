"""Values SpiffWorkflow reads at run time that deployment could not check: timers and
multi-instance counts computed by expressions, and the collections multi-instance activities
run over.

Deployment refuses literal timers that cannot run (`workflows.timers_iso`) and literal loop
cardinalities over the limit (`workflows.validation`); a computed value is known only when the
step evaluates it. Unchecked, SpiffWorkflow 3.2 takes a computed ``P100000000Y`` into a loop
over a billion months, ``R/PT0S`` into a timer that fires again and again within the step, a
value such as 5 or None into an AttributeError, and a cardinality of 100000 into 100,000 tasks.
`value_problem` judges each value as it leaves the script engine by the rules a literal meets
at deploy time, and `bound_multi_instance` makes multi-instance specs count their collection
before they make a task per item. A refused value fails the step like any other process error:
the caller gets a 409 naming the element and nothing changes (the timer worker marks the
instance ``error`` with the reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)

from . import limits
from .timers_iso import TimerKind, literal_problem

__all__ = ["bound_multi_instance", "element_of", "value_problem"]

# SpiffWorkflow 3.2's timer event definition classes, by the BPMN element they are parsed from
_TIMER_KINDS: dict[type, TimerKind] = {
    TimeDateEventDefinition: "timeDate",
    DurationTimerEventDefinition: "timeDuration",
    CycleTimerEventDefinition: "timeCycle",
}


def element_of(spec: Any) -> str | None:
    """The BPMN element id of a task spec (a multi-instance child's is its activity's)."""
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def value_problem(spec: Any, expression: str, value: Any) -> str | None:
    """Why the value an expression gave cannot be used by the task spec that asked for it (a
    timer's time, a multi-instance cardinality), in Chinese and English; None when it can."""
    if isinstance(spec, CatchingEvent):
        definition = spec.event_definition
        definitions = (
            definition.event_definitions
            if isinstance(definition, MultipleEventDefinition)
            else [definition]
        )
        for timer in definitions:
            kind = _TIMER_KINDS.get(type(timer))
            if kind is not None and timer.expression == expression:
                return timer_problem(value, kind)
    if isinstance(spec, MultiInstanceTask) and spec.cardinality == expression:
        return cardinality_problem(value)
    return None


def timer_problem(value: Any, kind: TimerKind) -> str | None:
    """A computed timer value must be what a literal of its kind may be (`literal_problem`)."""
    if not isinstance(value, str):
        return (
            f"定时器表达式的结果 {_shown(value)} 不是 ISO 8601 字符串 "
            f"(the timer expression gave {_shown(value)}, not an ISO 8601 {kind} string)"
        )
    problem = literal_problem(value, kind)
    return f"{problem[0]} ({problem[1]})" if problem else None


def cardinality_problem(value: Any) -> str | None:
    """A computed loop cardinality: a whole number from 0 to the limit, or a collection of at
    most that many items (SpiffWorkflow's Camunda support reads a collection there too)."""
    limit = limits.SETTINGS.multi_instance
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= limit:
            return None
        return (
            f"多实例的循环基数 {_shown(value)} 超出范围：应在 0 到 {limit} 之间 "
            f"(the loop cardinality {_shown(value)} is not between 0 and {limit})"
        )
    if isinstance(value, list | tuple | dict):
        return collection_problem(value)
    return (
        f"多实例的循环基数 {_shown(value)} 应为整数或列表 "
        f"(the loop cardinality {_shown(value)} must be a whole number or a list)"
    )


def collection_problem(value: Any) -> str | None:
    limit = limits.SETTINGS.multi_instance
    if isinstance(value, Sized) and len(value) > limit:
        return (
            f"多实例的集合有 {len(value)} 项，超过上限 {limit} "
            f"(the multi-instance collection has {len(value)} items, more than {limit}; "
            "MAX_MULTI_INSTANCE)"
        )
    return None


def _refuse_collection(my_task: Any, value: Any) -> None:
    problem = collection_problem(value)
    if problem:
        raise WorkflowTaskException(problem, task=my_task)


class _BoundedParallel:
    """Counts the collection before `create_children` makes a task of every item."""

    def create_children(self, my_task):
        if self.data_input is not None:
            _refuse_collection(my_task, self.data_input.get(my_task))
        return super().create_children(my_task)


class _BoundedSequential:
    """Counts the collection before `init_remaining_items` lists every item to run."""

    def init_remaining_items(self, my_task):
        if self.data_input is not None and self.data_input.exists(my_task):
            _refuse_collection(my_task, self.data_input.get(my_task))
        return super().init_remaining_items(my_task)


_bounded: dict[type, type] = {}


def _bounded_class(cls: type) -> type:
    if cls not in _bounded:
        parallel = issubclass(cls, ParallelMultiInstanceTask)
        mixin = _BoundedParallel if parallel else _BoundedSequential
        _bounded[cls] = type(f"Bounded{cls.__name__}", (mixin, cls), {"__module__": __name__})
    return _bounded[cls]


def bound_multi_instance(specs: Iterable[Any]) -> None:
    """Make every multi-instance task spec of these process specs count its collection first.

    SpiffWorkflow 3.2's Camunda parser creates its own multi-instance classes
    (`camunda.specs.multiinstance_task`) with no way to choose others, and reads a
    `camunda:collection` without any expression the script engine could check, so each such
    spec of a freshly parsed process is given a subclass of its own class: same behaviour, one
    check before the items become tasks. The specs are never serialised (the stored state names
    task specs only), so the subclass does not reach the database."""
    for process in specs:
        for task_spec in process.task_specs.values():
            cls = type(task_spec)
            if issubclass(cls, ParallelMultiInstanceTask | SequentialMultiInstanceTask) and not (
                issubclass(cls, _BoundedParallel | _BoundedSequential)
            ):
                task_spec.__class__ = _bounded_class(cls)
