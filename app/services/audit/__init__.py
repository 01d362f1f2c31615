"""Audit: case history views and exports, and the monthly audit sampling."""
