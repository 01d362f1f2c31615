"""The one list of history event types: every `type` the history (app/services/core/history.py) records,
with what it means. Values are the stored strings (unchanged), so old entries read as before.

docs/history-events.md is generated from this list (`python -m app.services.core.events > docs/history-events.md`)
and tests/services/core/test_event_types.py fails when the document is stale or when code records a type
that is not here.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """A history event type and its one-line meaning (`EventType.TASK_READY.meaning`)."""

    meaning: str

    def __new__(cls, value: str, meaning: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    # ---- a case and its engine run
    INSTANCE_STARTED = "instance_started", "A case (process instance) started: a contact, a dispute, a process started."
    INSTANCE_ENDED = "instance_ended", "The case's process finished, with its outcome and RAG."
    INSTANCE_MIGRATED = "instance_migrated", "A running case moved to another published version of its model."
    INSTANCE_REPAIRED = "instance_repaired", "A case stopped by an undelivered engine step was repaired (mash repair)."
    CHILD_ADDED = "child_added", "Another child of the same contact was given a case of its own."
    RAG_CHANGED = "rag_changed", "The case's RAG rating changed (from → to)."
    DECISION_EVALUATED = "decision_evaluated", "A decision table ran: inputs, outputs, matched rules, model version."
    ROUTE_TAKEN = "route_taken", "A gateway chose a path."
    ALERT_RAISED = "alert_raised", "The model alerted a role or team (a service task's `alert.raise`)."
    # ---- tasks
    TASK_READY = "task_ready", "A user task became ready for a role, team or agency, with its due time."
    TASK_COMPLETED = "task_completed", "Someone completed a task; its changed fields, before → after."
    TASK_WITHDRAWN = "task_withdrawn", "A ready task was withdrawn by the model (no longer needed)."
    TASK_DUE_CHANGED = "task_due_changed", "A ready task's due time moved (a RAG or a date it follows changed)."
    TASK_CLAIMED = "task_claimed", "Someone picked up a task from the inbox."
    TASK_UNCLAIMED = "task_unclaimed", "Someone released a task they had picked up."
    TASK_ASSIGNED = "task_assigned", "A task was given to a named person (by a manager or the model's `assignTo`)."
    TASK_OVERDUE = "task_overdue", "A ready task passed its due time and the model's overdue review started."
    MESSAGE_SENT = "message_sent", "A message was sent from a task while it stays open (e.g. escalate now)."
    # ---- timers
    TIMER_FIRED = "timer_fired", "A BPMN timer fired."
    TIMER_FAILED = "timer_failed", "A due timer could not run its case (recorded once, not retried in a loop)."
    OVERDUE_FAILED = "overdue_failed", "A task's overdue review could not start (recorded once, not retried in a loop)."
    # ---- partners, disclosure and disputes
    DISCLOSED = "disclosed", "The handover package went outside the MASH: to whom, what, why, lawful basis."
    ANSWER_REVISED = "answer_revised", "A partner agency revised its answer."
    ANSWER_WITHHELD_FROM_HANDOVER = (
        "answer_withheld_from_handover",
        "A partner agency chose parts of its answer not to go to the receiving team.",
    )
    EARLIER_ANSWER_VIEWED = "earlier_answer_viewed", "A partner agency read its own earlier answer about the child."
    DISPUTE_RAISED = "dispute_raised", "A professional disagreement (escalation) was raised about the case."
    # ---- letters
    LETTER_SENT = "letter_sent", "A letter task was completed: its letter was sent."
    LETTER_DOWNLOADED = "letter_downloaded", "Someone downloaded a task's letter as PDF."
    # ---- reading, exports and access
    VIEWED = "viewed", "Someone read the case (page or API endpoint; the reason when opened by break-glass)."
    LIST_VIEWED = "list_viewed", "Someone saw cases in a list (inbox, search results), naming the cases shown."
    INSTANCE_VIEWED = "instance_viewed", "Someone opened the case's diagram."
    HISTORY_VIEWED = "history_viewed", "Someone read the case's history (older entries; now recorded as `viewed`)."
    EXPORTED = "exported", "Someone exported the case's history (CSV or PDF)."
    REPORT_EXPORTED = "report_exported", "Someone exported an oversight figure (who, which figure, which period)."
    ACCESS_DENIED = "access_denied", "Someone was refused an action or a case."
    BREAK_GLASS_OPENED = "break_glass_opened", "Someone outside the case's need-to-know opened it, giving a reason."
    BREAK_GLASS_REVIEWED = "break_glass_reviewed", "A service manager reviewed a break-glass access."
    AUDIT_FINDING_RECORDED = "audit_finding_recorded", "A case audit (monthly sampling) recorded its finding."
    # ---- people and sessions
    USER_CREATED = "user_created", "A user account was created."
    DISPLAY_NAME_CHANGED = "display_name_changed", "A user changed the name others see."
    LOGIN = "login", "Someone signed in (page session or API token)."
    LOGIN_FAILED = "login_failed", "A sign-in failed (wrong username or password)."
    LOGIN_THROTTLED = "login_throttled", "Sign-in was refused for too many failures (per account or address)."
    LOGOUT = "logout", "Someone signed out."
    SESSION_EXPIRED = "session_expired", "A page session ended by being idle or too long."
    # ---- models and the calendar
    DEPLOYED = "deployed", "A model set was deployed as a new version."
    MODEL_DRAFT_SUBMITTED = "model_draft_submitted", "A model draft was submitted for approval."
    MODEL_DRAFT_REJECTED = "model_draft_rejected", "A model draft was sent back by its approver."
    MODEL_DRAFT_DISCARDED = "model_draft_discarded", "A model draft was discarded."
    MODEL_PUBLISHED = "model_published", "An approved model draft was published (deployed)."
    CLOSURE_DAY_ADDED = "closure_day_added", "An administrator added a day the MASH is closed."
    CLOSURE_DAY_REMOVED = "closure_day_removed", "An administrator removed a closure day."


def markdown() -> str:
    """docs/history-events.md: the list above as a table."""
    lines = [
        "# History event types",
        "",
        "Every entry of a case's history (and of the system's own chain) has one of these types.",
        "Generated from `app/services/core/events.py` (`python -m app.services.core.events`); a test fails when",
        "this file is stale or when code records a type not in that list.",
        "",
        "| Type | Meaning |",
        "|---|---|",
    ]
    lines += [f"| `{event.value}` | {event.meaning} |" for event in EventType]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
