"""Reporting: the oversight dashboard's figures."""
