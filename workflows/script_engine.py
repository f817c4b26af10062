"""SpiffWorkflow's script engine on the restricted evaluator, with the run-time guards.

Every gateway condition, script, timer expression and loop cardinality of a running process
goes through `RestrictedScriptEngine`: the source runs in `workflows.evaluator` (never
Python's code runner), the engine step's deadline is checked before each one
(`workflows.deadline`), and a value SpiffWorkflow is about to use as a time or a number of tasks
is judged first (`workflows.guards`).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import deadline, guards
from .evaluator import DEFAULT_FUNCTIONS, ExpressionError, evaluate, execute, validate

__all__ = ["RestrictedEnvironment", "RestrictedScriptEngine", "make_script_engine"]


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment backed by the evaluator instead of Python's code runner.

    ``context`` is the task data; ``external_context`` (data objects) is readable, not writable.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] = DEFAULT_FUNCTIONS):
        super().__init__(dict(functions))
        self.functions = MappingProxyType(dict(functions))

    def evaluate(self, expression, context, external_context=None):
        variables = ChainMap(context, external_context) if external_context else context
        return evaluate(expression, variables, self.functions)

    def execute(self, script, context, external_context=None):
        execute(script, context, self.functions, readonly=external_context or None)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionError("service tasks are not supported")


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine running everything through :class:`RestrictedEnvironment`."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] = DEFAULT_FUNCTIONS):
        self.functions = MappingProxyType(dict(functions))
        super().__init__(environment=RestrictedEnvironment(self.functions))

    def validate(self, expression, mode: Literal["eval", "exec"] = "eval"):
        validate(expression, mode=mode, functions=self.functions)

    def evaluate(self, task, expression, external_context=None):
        deadline.checkpoint(guards.element_of(task.task_spec))
        value = super().evaluate(task, expression, external_context)
        problem = guards.value_problem(task.task_spec, expression, value)
        if problem:
            raise WorkflowTaskException(problem, task=task)
        return value

    def execute(self, task, script, external_context=None):
        deadline.checkpoint(guards.element_of(task.task_spec))
        return super().execute(task, script, external_context)

    def call_service(self, task, **kwargs):
        err = ExpressionError("service tasks are not supported")
        raise WorkflowTaskException(str(err), task=task, exception=err)

    def get_error_line_number_and_content(self, script, err):
        if isinstance(err, ExpressionError) and err.lineno:
            lines = (script or "").splitlines()
            line = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else ""
            return err.lineno, line
        return super().get_error_line_number_and_content(script, err)


def make_script_engine(
    functions: Mapping[str, Callable[..., Any]] = DEFAULT_FUNCTIONS,
) -> RestrictedScriptEngine:
    """A SpiffWorkflow script engine that only runs the restricted language of the evaluator."""
    return RestrictedScriptEngine(functions)
