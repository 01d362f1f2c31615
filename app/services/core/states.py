"""The host's own names for processes and for the states it stores, in one place.

StrEnums: each member is its stored string, so rows, JSON and comparisons with strings are unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class ProcessId(StrEnum):
    """The processes the host itself starts or reads by id (processes/*.bpmn)."""

    FRONT_DOOR = "front_door"  # a contact, from recording to outcome (Stage 1)
    STAGE2_INFOSHARING = "stage2_infosharing"  # Stage 2 multi-agency information sharing (called by front_door)
    ESCALATION = "escalation"  # a professional disagreement about a case (disputes)
    AUDIT_SAMPLING = "audit_sampling"  # the monthly case audit cycle (one long-running instance)


class InstanceStatus(StrEnum):
    """process_instances.status"""

    RUNNING = "running"
    COMPLETED = "completed"


class TaskState(StrEnum):
    """tasks.state: the inbox projection of a user task."""

    READY = "ready"
    COMPLETED = "completed"  # by a person
    WITHDRAWN = "withdrawn"  # by the model (no longer needed)
    CANCELLED = "cancelled"  # no longer ready and not completed by a person (the process moved on)


class TimerState(StrEnum):
    """timers.state: a waiting BPMN timer row."""

    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"  # the process moved on before its time
    FAILED = "failed"  # its case could not run (recorded as timer_failed)
