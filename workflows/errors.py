"""Errors the engine layer raises; the HTTP layer maps each to one status code."""

from __future__ import annotations

from collections.abc import Mapping

from .definitions import DefinitionError
from .forms import FormErrors


class WorkflowError(Exception):
    code = "error"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields) if fields else None


class NotFound(WorkflowError):
    code = "not_found"


class Forbidden(WorkflowError):
    code = "forbidden"


class Conflict(WorkflowError):
    code = "conflict"


class Invalid(WorkflowError):
    code = "invalid"


class EngineFailure(WorkflowError):
    """The process itself failed (a script or expression error, an engine fault); nothing was
    changed. ``element`` is the BPMN element it failed at, when known (also in ``fields``);
    ``instance_id`` the instance the step ran on."""

    code = "engine_error"
    # the instance is marked `error` once the transaction has rolled back (a step that would
    # only fail the same way again, e.g. by running out of time)
    marks_instance = False

    def __init__(
        self,
        message: str,
        fields: Mapping[str, str] | None = None,
        *,
        element: str | None = None,
        instance_id: int | None = None,
    ):
        if element is not None:
            fields = {"element": element, **(fields or {})}
        super().__init__(message, fields)
        self.element = element
        self.instance_id = instance_id


def column_overflow(exc: BaseException, instance_id: int | None = None) -> EngineFailure:
    """A value the process produced that its database column cannot hold (PostgreSQL's
    DataError; SQLite stores any length), e.g. from a version deployed before deployment
    checked the lengths."""
    return EngineFailure(
        "流程产生的值超出数据库字段长度 (the process produced a value its database column "
        f"cannot hold: {getattr(exc, 'orig', exc)})",
        instance_id=instance_id,
    )


class LimitExceeded(EngineFailure):
    """The step would pass a resource limit (the instance's state size, a multi-instance
    count, a value's size); nothing was changed."""

    code = "limit_exceeded"


class StepTimedOut(LimitExceeded):
    """The step ran past its wall-clock limit (`workflows.deadline`): it was rolled back and
    its instance is marked `error` with the reason, since running it again would only overrun
    again."""

    code = "step_timeout"
    marks_instance = True


__all__ = [
    "Conflict",
    "DefinitionError",
    "EngineFailure",
    "Forbidden",
    "FormErrors",
    "Invalid",
    "LimitExceeded",
    "NotFound",
    "StepTimedOut",
    "WorkflowError",
]
