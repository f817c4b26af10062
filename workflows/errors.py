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
    """The process itself failed (a script or expression error); nothing was changed."""

    code = "engine_error"


__all__ = [
    "Conflict",
    "DefinitionError",
    "EngineFailure",
    "Forbidden",
    "FormErrors",
    "Invalid",
    "NotFound",
    "WorkflowError",
]
