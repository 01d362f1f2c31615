"""Audit pages: case history, exports and break-glass."""
