"""Shared by every feature: errors, the unit of work, the clock, the engine host and its timers, the hash-chained
history, roles, labels and task-form checks."""
