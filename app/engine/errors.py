"""Errors the engine raises to the host, each saying where and what, never a stack trace."""
from __future__ import annotations

from dataclasses import asdict, dataclass


class EngineError(Exception):
    """Base for errors the host turns into clear user-facing responses."""


class ModelError(EngineError):
    """A model file that must not be deployed: file, line (when known) and what is wrong."""

    def __init__(self, filename: str, line: int | None, message: str, element_id: str | None = None,
                 element_name: str | None = None):
        self.filename = filename
        self.line = line
        self.message = message
        self.element_id = element_id
        self.element_name = element_name
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}" + (f" (element {element_id})" if element_id else ""))

    def as_dict(self) -> dict:
        return {"file": self.filename, "line": self.line, "element": self.element_id, "message": self.message}

    def problem(self) -> "Problem":
        return Problem(self.filename, self.element_id, self.element_name, self.line, self.message)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model set, said plainly, pointing at the file, element and line.

    `severity` "error" refuses a deployment; "warning" is shown but does not block (e.g. a
    fake join). `rule` names the check (xml, xsd, bpmn, expression, lane, form, decision,
    dmn-test, or a bpmnlint rule name) so editors can group or highlight by kind.
    """

    file: str
    element_id: str | None
    element_name: str | None
    line: int | None
    message: str
    severity: str = "error"
    rule: str = "model"

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        element = f" ({self.element_name or self.element_id})" if self.element_id or self.element_name else ""
        return f"{where}{element}: {self.message}"


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
