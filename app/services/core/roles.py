"""Role, team and agency ids from the product specification (spec §2, §9).

These are facts about the organisation, not process logic: the diagrams name them in lanes.
"""

from __future__ import annotations

ROLES = (
    "masho",
    "decision_maker",
    "eh_decision_maker",
    "mash_manager",
    "eh_manager",
    "partner",
    "partner_manager",
    "business_support",
    "receiving_team",
    "receiving_team_manager",
    "service_manager",
    "first_response_service_manager",
    "strategic_manager",
    "assistant_director",
    "auditor",
    "admin",
)
# Roles inside the MASH firewall: they may read a whole case they are involved in.
MASH_ROLES = frozenset(
    {
        "masho",
        "decision_maker",
        "eh_decision_maker",
        "mash_manager",
        "eh_manager",
        "service_manager",
        "first_response_service_manager",
        "strategic_manager",
        "assistant_director",
        "business_support",
    }
)
READ_ALL_ROLES = frozenset({"auditor"})
AGENCY_ROLES = frozenset({"partner", "partner_manager"})
TEAM_ROLES = frozenset({"receiving_team", "receiving_team_manager"})
TEAMS = ("first_response", "daat", "early_help", "disabled_children", "out_of_hours", "domestic_abuse_screening")
AGENCIES = (
    "police",
    "health",
    "community_health",
    "mental_health",
    "education",
    "early_years",
    "early_help",
    "youth_offending",
    "probation",
    "housing",
    "substance_misuse",
    "ndas",
    "adult_social_care",
    "fire",
    "cafcass",
    "other_la",
    "voluntary",
    "private",
)
