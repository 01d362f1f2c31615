"""Reporting pages: the oversight dashboard."""
