"""The oversight dashboard: timeliness, volumes and disputes for a chosen period, each figure as CSV."""

from __future__ import annotations

from flask import g, render_template, request

from app import downloads
from app.services.access import permissions
from app.services.core.errors import Invalid
from app.services.reporting import oversight
from app.web import bp
from app.web.core import security

DATE_FIELDS = tuple(f"{p}-{part}" for p in ("from", "to") for part in ("day", "month", "year"))


def _values() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in DATE_FIELDS}


def _query(period: oversight.Period) -> dict[str, int]:
    return {
        "from-day": period.start.day,
        "from-month": period.start.month,
        "from-year": period.start.year,
        "to-day": period.end.day,
        "to-month": period.end.month,
        "to-year": period.end.year,
    }


@bp.get("/oversight")
@security.login_required
@permissions.requires("oversight.view")
def oversight_dashboard():
    values = _values()
    try:
        period = oversight.parse_period(values)
    except Invalid as err:
        oversight.require_access(g.current_user)
        return render_template(
            "oversight/dashboard.html", figures=[], period=None, values=values, errors=err.first_messages(), query={}
        ), 422
    figures = oversight.dashboard(g.current_user, period)
    if not any(values.values()):
        values = {k: str(v) for k, v in _query(period).items()}
    return render_template(
        "oversight/dashboard.html",
        figures=figures,
        period=period,
        values=values,
        errors={},
        query=_query(period),
        bar_width=oversight.percent_width,
        label=oversight.display_label,
    )


@bp.get("/oversight/<string:figure_id>.csv")
@security.login_required
@permissions.requires("oversight.view")
def oversight_csv(figure_id: str):
    oversight.require_access(g.current_user)
    period = oversight.parse_period(_values())  # a bad date is refused (400 page), never swapped for another period
    return downloads.send(oversight.export(g.current_user, period, figure_id))
