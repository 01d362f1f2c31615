"""A template that uses a name no view passed fails (StrictUndefined for names), while the GOV.UK macros'
optional parameters and `x if y` without `else` stay empty, as before."""

from __future__ import annotations

from datetime import UTC

import pytest
from jinja2 import UndefinedError


def test_an_undefined_name_fails_the_page(app):
    env = app.jinja_env
    for source in ("{{ forgotten }}", "{% if forgotten %}x{% endif %}", "{% for x in forgotten %}{% endfor %}"):
        with pytest.raises(UndefinedError):
            env.from_string(source).render()


def test_optional_keys_defaults_and_inline_ifs_stay_lenient(app):
    env = app.jinja_env
    source = (
        "[{{ params.classes }}]{% if params.hint %}hint{% endif %}[{{ 'Error: ' if errors }}]"
        "[{{ missing | default('none') }}][{{ 'yes' if missing is defined else 'no' }}]"
    )
    assert env.from_string(source).render(params={}, errors={}) == "[][][none][no]"


def test_the_due_and_london_filters(app):
    from datetime import datetime, timedelta

    from app.services.core.clock import now

    env = app.jinja_env
    soon = now() + timedelta(hours=23, minutes=30)
    assert env.from_string("{{ d | due }}").render(d=soon) == "Due in 23 hours"
    assert env.from_string("{{ d | due }}").render(d=None) == "No deadline"
    summer = datetime(2026, 7, 1, 9, 5, tzinfo=UTC)
    assert env.from_string("{{ d | london }}").render(d=summer) == "1 July 2026, 10:05"
