"""Plumbing every page uses: security (sessions, CSRF), form rendering and parsing, paging, filters and times."""
