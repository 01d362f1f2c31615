"""Stage 1 through the API: the triage answers most journeys give, acknowledging the referrer and sending
letters."""

from __future__ import annotations

TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "Analysis of the concerns.",
    "transfer_to_social_care": False,
}


def finish_letters(flow, referrer_letter=True, family_letter=True):
    if referrer_letter:
        flow.do("bs", "send_referrer_letter", {"sent_at": "2026-11-24T15:00:00+00:00", "letter_method": "email"})
    if family_letter:
        flow.do(
            "bs",
            "send_family_letter",
            {"family_letter_sent_at": "2026-11-24T15:00:00+00:00", "family_letter_method": "post"},
        )


def acknowledge(flow):
    flow.do(
        "bs",
        "send_acknowledgement",
        {"acknowledged_at": "2026-11-24T11:00:00+00:00", "acknowledgement_method": "phone"},
    )
