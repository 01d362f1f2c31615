"""What a person typed to find a case, read as Find a case and the inbox search read it: the reference
printed on letters and the referral confirmation (MASH-20261206-000002), a case number, or the child's
name, matched as the history check matches names (case_index.names_match) and ranked by edit distance."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from app.services.cases import case_index

REFERENCE = re.compile(r"^\s*MASH\s*[-\s]?\s*(\d{8})\s*[-\s]?\s*(\d{1,9})\s*$", re.IGNORECASE)
CASE_NUMBER = re.compile(r"^\s*(?:case\s*)?(?:number\s*)?#?\s*(\d{1,9})\s*$", re.IGNORECASE)


def parse_case(text: str) -> tuple[tuple[str, int] | None, int | None] | None:
    """A reference or a case number as typed; None when it is neither."""
    match = REFERENCE.match(text or "")
    if match:
        return (match[1], int(match[2])), None
    match = CASE_NUMBER.match(text or "")
    if match:
        return None, int(match[1])
    return None


def split_name(name: str) -> tuple[str | None, str]:
    """ "Jamie Doe" → (Jamie, Doe); "Doe, Jamie" → (Jamie, Doe); "Doe" → (None, Doe)."""
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip() or None, last.strip()
    words = name.split()
    return (" ".join(words[:-1]) or None), (words[-1] if words else "")


def name_distance(child: dict, name: str) -> int | None:
    """How far the typed name is from the child's (None: no match by the history check's rules)."""
    first, last = split_name(name)
    known_first, known_last = child.get("first_name"), child.get("last_name")
    distance = Levenshtein.distance(case_index.fold(f"{known_first or ''} {known_last or ''}"), case_index.fold(name))
    if case_index.names_match(known_first, known_last, first, last):
        return distance
    # one word: it may be the first name
    if first is None and Levenshtein.distance(case_index.fold(known_first), case_index.fold(last)) <= 2:
        return distance
    return None
