"""Errors the engine raises to the host, each saying where and what, never a stack trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Every rule a model check reports, by its stable id: editors and the API group and highlight by it,
# and nothing ever decides by a problem's message text. The bpmnlint rules keep bpmnlint's names.
RULES: dict[str, str] = {
    # a file that cannot be read at all
    "model-path": "the file's name or folder is not one a model file may have",
    "file-too-large": "the file is larger than a model file may be",
    "xml-not-well-formed": "the file is not well-formed XML",
    "xml-doctype": "the file declares a DOCTYPE or an entity (refused in models)",
    "bpmn-schema": "the BPMN file is not valid against the BPMN schema",
    "dmn-schema": "the DMN file is not valid against the DMN schema (or has an unknown namespace)",
    "form-json": "the form file is not valid JSON",
    "form-schema": "the form file is not a valid JSON Schema",
    # decision tables
    "decision-table": "a decision table cannot be parsed or one of its cells or expressions is refused",
    "duplicate-decision": "two DMN files deploy the same decision id",
    "dmn-test": "a decision table's examples (dmn/<decision>.tests.json) do not pass",
    "dmn-test-time-limit": "a decision table's example was stopped by the time limit (depends on the machine's load)",
    # SpiffWorkflow's parse and the references between files
    "bpmn-parse": "SpiffWorkflow refuses the BPMN (duplicate process id, an unsupported construct...)",
    "missing-called-process": "a call activity calls a process that is not in the model set",
    "missing-decision": "a business rule task calls a decision that is not in the model set",
    "no-called-decision": "a business rule task calls no decision",
    "decision-input-not-provided": "a decision reads data that nothing before the task provides",
    # tasks
    "invalid-expression": "a script, condition, timer, parameter or task property is refused by the evaluator",
    "missing-form": "a user task names a form file that is not in the model set",
    "no-lane": "a user task is in no lane, so nobody could work on it",
    "lane-not-role": "a lane is not named after a role id",
    "instructions": "a task's instructions use a placeholder outside the rules (or too many)",
    # bpmnlint's recommended rules (app.engine.lint)
    "label-required": "an element has no label",
    "no-disconnected": "an element or flow is not connected",
    "start-event-required": "a process or sub-process has no start event",
    "end-event-required": "a process or sub-process has no end event",
    "no-implicit-split": "a flow splits without a gateway",
    "conditional-flows": "a flow out of a splitting gateway has no condition and is not the default",
    "fake-join": "several flows come in without a joining gateway",
    "no-duplicate-sequence-flows": "two sequence flows have the same source, target and condition",
    "no-gateway-join-fork": "one gateway both joins and splits flows",
}
SEVERITIES = ("error", "warning")


class EngineError(Exception):
    """Base for errors the host turns into clear user-facing responses."""


class ModelError(EngineError):
    """A model file that must not be deployed: file, line (when known), what is wrong and which rule."""

    def __init__(
        self,
        filename: str,
        line: int | None,
        message: str,
        element_id: str | None = None,
        element_name: str | None = None,
        rule: str = "bpmn-parse",
    ):
        self.filename = filename
        self.line = line
        self.message = message
        self.element_id = element_id
        self.element_name = element_name
        self.rule = rule
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}" + (f" (element {element_id})" if element_id else ""))

    @classmethod
    def from_problem(cls, problem: Problem) -> ModelError:
        return cls(problem.file, problem.line, problem.message, problem.element, problem.element_name, problem.rule)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "line": self.line,
            "element": self.element_id,
            "message": self.message,
            "rule": self.rule,
        }

    def problem(self) -> Problem:
        return Problem(
            rule=self.rule,
            severity="error",
            file=self.filename,
            element=self.element_id,
            line=self.line,
            message=self.message,
            element_name=self.element_name,
        )


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a model set, said plainly, pointing at the file, element and line.

    `rule` is a stable id from RULES (what kind of problem: editors group and highlight by it);
    `severity` "error" refuses a deployment, "warning" is shown but does not block (e.g. a fake
    join); `element` is the BPMN/DMN element id (its name, when it has one, in `element_name`);
    `line` the line in `file`; `message` plain words for the modeller.
    """

    rule: str
    severity: str
    file: str
    element: str | None
    line: int | None
    message: str
    element_name: str | None = None

    @property
    def element_id(self) -> str | None:
        """The element's id under its earlier name (the API and templates have always shown it)."""
        return self.element

    def sort_key(self) -> tuple[int, str, int, str, str]:
        """Errors before warnings, then by file, line and rule (never by the message's words)."""
        return (
            SEVERITIES.index(self.severity) if self.severity in SEVERITIES else len(SEVERITIES),
            self.file,
            self.line or 0,
            self.rule,
            self.element or "",
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "element": self.element,
            "line": self.line,
            "message": self.message,
            "element_id": self.element,
            "element_name": self.element_name,
        }

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        element = f" ({self.element_name or self.element})" if self.element or self.element_name else ""
        return f"{where}{element}: {self.message}"


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=Problem.sort_key)


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
