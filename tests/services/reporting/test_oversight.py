"""Oversight figures (spec §8) against a seeded month with known answers.

Five children's contacts go through the real front door on Tuesday 24 November 2026 (received
09:30): an NFA and an s17 referral decided at once, advice given by the MASH officer (an email
from the police), a contact still being triaged at the decision deadline, kept open with the
manager's agreement and decided late as NFA, and a RED s47 contact triaged at once but signed off
only the next morning (late for RED's 4 hours, and nobody recorded agreement to keep it open). Rows
the real processes would need days or another engineer's stage to make (partner answers, an old
referral, a resolved level 3 dispute, an October contact) are inserted directly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, HistoryEvent, IndexContact, ProcessInstance, TaskRecord
from app.services.core import timers
from app.services.core.errors import Invalid
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments
from app.services.partners import disputes
from app.services.people import users
from app.services.reporting import oversight
from tests.support.flow import AGREE, Flow

UTC = UTC
NOVEMBER = oversight.Period(date(2026, 11, 1), date(2026, 11, 30))
TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "Analysis.",
    "transfer_to_social_care": False,
}
POLICE_EMAIL = {
    "channel": "email",
    "referrer": {"name": "PC Smith", "agency": "police", "role": "PPU", "anonymous": False},
}


def _triaged(flow, threshold, rag):
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": threshold})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": rag})


def _task(instance_id, agency, created, due, completed=None, state="completed"):
    db.session.add(
        TaskRecord(
            id=str(uuid.uuid4()),
            instance_id=instance_id,
            bpmn_id="partner_answer",
            title="Answer",
            role="partner",
            agency=agency,
            state=state,
            created_at=created,
            due_at=due,
            completed_at=completed,
        )
    )


def seed_month(client) -> dict:
    nfa = Flow(client)
    nfa.intake()
    _triaged(nfa, "not_met", "NONE")
    s17 = Flow(client)
    s17.intake()
    _triaged(s17, "s17", "GREEN")
    advice = Flow(client, **POLICE_EMAIL)
    advice.intake({"request_type": "advice", "information_only": True})
    advice.do("masho", "give_information", {"information_given_detail": "Signposted to the family hub."})
    late = Flow(client)
    late.intake()
    late.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    red = Flow(client)
    red.intake({"red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"})
    red.do("mgr", "confirm_red", {"red_confirmed": True})
    red.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    red.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s47"})

    CLOCK.advance(timedelta(hours=23, minutes=31))  # Wednesday 09:31: past one working day from receipt
    for flow in (nfa, s17, advice, late, red):
        flow.api.tokens.clear()
    timers.fire_due()
    late.do(
        "mgr",
        "agree_contact_stays_open",  # one per contact (spec §11.9)
        {"stay_open_agreed": True, "stay_open_reason": "Waiting for the school; decide by noon."},
    )
    late.do("dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    late.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "NONE"})
    red.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})

    mgr = users.get_by_username("mgr")
    disputes.raise_dispute(mgr, s17.instance_id, "The s17 route", "We think it is early help.")  # level 1, open
    first = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    with unit_of_work():
        _task(nfa.instance_id, "police", first, first + timedelta(hours=8), first + timedelta(hours=2))  # on time
        _task(nfa.instance_id, "police", first, first + timedelta(hours=8), first + timedelta(hours=9))  # late
        _task(nfa.instance_id, "police", first, first + timedelta(hours=8), state="ready")  # open, overdue
        _task(nfa.instance_id, "health", first, first + timedelta(hours=8), first + timedelta(hours=1))  # on time
        _task(nfa.instance_id, "health", datetime(2026, 10, 5, tzinfo=UTC), first)  # October: not counted
        db.session.add(
            ProcessInstance(
                deployment_id=deployments.latest().id,
                process_id="escalation",
                parent_instance_id=nfa.instance_id,
                status="completed",
                state="{}",
                case_data={"level": 3, "resolved_level": 3},
                created_at=first,
                updated_at=first,
                ended_at=first,
            )
        )
        db.session.add(
            Contact(received_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC), channel="nspcc", payload={})
        )  # Saturday 31 October, UK time: not November's
        index = {row.instance_id: row for row in db.session.execute(select(IndexContact)).scalars()}
        db.session.add(
            IndexContact(
                child_id=index[s17.instance_id].child_id,  # a referral in June: re-referral
                received_at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
                outcome="s17_assessment",
            )
        )
        db.session.add(
            IndexContact(
                child_id=index[nfa.instance_id].child_id,  # a second contact in November
                received_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
                outcome="information_given",
            )
        )
    return {"nfa": nfa, "s17": s17, "advice": advice, "late": late, "red": red}


def _rows(figure):
    return {row[0]: row[1:] for row in figure.rows}


def test_timeliness_figures_for_a_seeded_month(client):
    seed_month(client)
    decisions = oversight.decisions_within_one_working_day(NOVEMBER)
    assert _rows(decisions) == {
        "Decided within one working day": [3, "60%"],
        "Decided later": [2, "40%"],
        "Not decided, past one working day": [0, "0%"],
        "Not decided, still within one working day": [0, "0%"],
    }
    assert decisions.summary == "3 of 5 decided within one working day (60%)"

    by_rag = _rows(oversight.outcomes_within_rag_timescale(NOVEMBER))
    # the late contact's RAG was applied at its (late) triage, which restarted its outcome clock (spec §5)
    assert by_rag == {
        "RED": [0, 1, 1, "0%"],
        "AMBER": [0, 0, 0, "–"],
        "GREEN": [1, 0, 1, "100%"],
        "No RAG": [3, 0, 3, "100%"],
    }

    partners = _rows(oversight.partner_answers_on_time(NOVEMBER))
    assert partners == {"health": [1, 0, 0, 0, 0, "100%"], "police": [1, 1, 1, 0, 0, "33%"]}

    telling = _rows(oversight.telling_and_handover_on_time(NOVEMBER))  # at Wednesday 09:31
    assert telling == {
        "Acknowledge the referrer": [0, 0, 5, 0, "0%"],
        "Handover": [0, 0, 0, 2, "–"],
        "Send the family letter": [0, 0, 0, 2, "–"],
        "Send the referrer letter": [0, 0, 0, 2, "–"],
    }

    kept_open = oversight.open_over_one_working_day(NOVEMBER)
    assert _rows(kept_open) == {
        "A manager agreed it stays open": [1],
        "A manager did not agree": [0],
        "No manager decision recorded": [1],
    }
    assert kept_open.summary == "2 of 5 contacts open over one working day; 1 agreed by a manager"


def test_volume_conversion_repeat_and_dispute_figures_and_their_csv(client):
    seed_month(client)
    channel, source, outcome = oversight.volumes(NOVEMBER)
    assert _rows(channel) == {"phone": [4], "email": [1]}
    assert _rows(source) == {"education": [4], "police": [1]}
    assert _rows(outcome) == {
        "nfa": ["decision", 2],
        "s17_assessment": ["decision", 1],
        "s47_strategy": ["decision", 1],
        "information_given": ["pass-on", 1],
    }
    assert _rows(oversight.conversion(NOVEMBER))["Became a referral"] == [2, "40%"]
    re_referrals = oversight.re_referrals(NOVEMBER)
    assert re_referrals.summary == "1 of 2 referrals were re-referrals (50%)"
    assert _rows(oversight.repeat_contacts(NOVEMBER)) == {
        "1 contact": [3],
        "2 contacts": [1],
        "3 or more contacts": [0],
    }
    assert _rows(oversight.disputes_by_level(NOVEMBER)) == {
        "Level 1 – team managers": [0, 1, 1],
        "Level 2 – service managers": [0, 0, 0],
        "Level 3 – strategic managers": [1, 0, 1],
        "Level 4 – assistant director": [0, 0, 0],
    }

    october = oversight.Period(date(2026, 10, 1), date(2026, 10, 31))
    assert _rows(oversight.volumes(october)[0]) == {"nspcc": [1]}
    assert oversight.decisions_within_one_working_day(october).summary == "0 of 0 decided within one working day (–)"

    # an export is CSV and is recorded (who, what, which period)
    mgr = users.get_by_username("mgr")
    export = oversight.export(mgr, NOVEMBER, "by_channel")
    assert (export.filename, export.mimetype) == ("mash-by_channel-2026-11-01-to-2026-11-30.csv", "text/csv")
    text = export.body
    assert text.splitlines() == ["Channel,Contacts", "phone,4", "email,1"]
    event = db.session.execute(select(HistoryEvent).where(HistoryEvent.type == "report_exported")).scalar_one()
    assert event.actor == "mgr" and event.detail == {
        "report": "oversight",
        "figure": "by_channel",
        "from": "2026-11-01",
        "to": "2026-11-30",
        "format": "csv",
    }


def test_the_default_period_is_this_month_to_date_and_dates_are_checked(ctx):
    today = CLOCK.now().astimezone(oversight.LONDON).date()
    assert oversight.parse_period({}) == oversight.Period(today.replace(day=1), today)  # never an empty last month
    assert oversight.parse_period(
        {"from-day": "1", "from-month": "2", "from-year": "2026", "to-day": "28", "to-month": "2", "to-year": "2026"}
    ) == oversight.Period(date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(Invalid) as err:
        oversight.parse_period(
            {"from-day": "31", "from-month": "2", "from-year": "2026", "to-day": "", "to-month": "3", "to-year": "2026"}
        )
    assert err.value.errors == {
        "from": ["The start date must be a real date"],
        "to": ["The end date must include a day"],
    }
