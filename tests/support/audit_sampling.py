"""The monthly audit sampling's finding form."""

from __future__ import annotations

FORM = {
    **{
        f"standard_{c}": "met"
        for c in (
            "2_1",
            "2_2",
            "2_3",
            "2_4",
            "2_5",
            "2_6",
            "2_7",
            "2_8",
            "2_9",
            "2_10",
            "2_11",
            "2_12",
            "2_13",
            "2_14",
            "2_16",
            "2_17",
            "2_18",
            "2_19",
        )
    },
    "standard_2_9": "not_applicable",
    "overall_judgement": "good",
    "audit_findings": "Clear analysis; consent recorded.",
    "audit_actions": None,
}
