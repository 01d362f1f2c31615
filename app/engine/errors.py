"""Errors the engine raises to the host, each saying where and what, never a stack trace."""
from __future__ import annotations


class EngineError(Exception):
    """Base for errors the host turns into clear user-facing responses."""


class ModelError(EngineError):
    """A model file that must not be deployed: file, line (when known) and what is wrong."""

    def __init__(self, filename: str, line: int | None, message: str, element_id: str | None = None):
        self.filename = filename
        self.line = line
        self.message = message
        self.element_id = element_id
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}" + (f" (element {element_id})" if element_id else ""))

    def as_dict(self) -> dict:
        return {"file": self.filename, "line": self.line, "element": self.element_id, "message": self.message}


class TaskStateError(EngineError):
    """The task cannot be completed now (already completed, cancelled, not yet reached)."""


class ProcessError(EngineError):
    """The process could not continue (a decision found no rule, a required input is missing...).

    The host rolls the whole transaction back, so the instance is exactly as before.
    """

    def __init__(self, message: str, bpmn_id: str | None = None, line: int | None = None):
        self.message = message
        self.bpmn_id = bpmn_id
        self.line = line
        super().__init__(message)
