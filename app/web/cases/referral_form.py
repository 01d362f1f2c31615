"""The public referral form's answers: read from the POST, checked in page order, turned into a contact.

Nothing is kept between pages on the server or in a cookie: the form, and the check-your-answers
page after it, carry every answer in their own fields (hidden ones on the check page). Field names
are flat: `referrer_name`, `child-0-last_name`, `child-1-expected_date_of_delivery-day`; each
error is keyed by the name of its field (a date by its prefix), in the order the page shows them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.services.core.clock import now

CONSENT = {
    "obtained": "Yes, they know and agree",
    "not_sought": "No, I have not asked them",
    "refused": "I asked and they do not agree",
}
ANONYMOUS = {"no": "Yes", "yes": "No, I want to stay anonymous"}
BORN = {"yes": "Yes", "no": "No, this child is not born yet"}
MAX_CHILDREN = 10
DATE_PARTS = ("day", "month", "year")
REFERRER = ("referrer_name", "referrer_phone", "referrer_email", "referrer_role", "referrer_agency")
TOP = ("anonymous", *REFERRER, "referrer_relationship", "concerns", "consent")
CHILD = ("first_name", "last_name", "born", "date_of_birth", "age", "expected_date_of_delivery", "address")
DATES = ("date_of_birth", "expected_date_of_delivery")
LIMITS = {"concerns": 5000}
LIMIT = 200


def long_date(day: date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def _date(parts: list[str]) -> date | None:
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None


@dataclass
class Child:
    index: int
    values: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.index + 1

    def name(self, key: str) -> str:
        return f"child-{self.index}-{key}"

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def date(self, key: str) -> date | None:
        return _date([self.get(f"{key}-{p}") for p in DATE_PARTS])

    @property
    def unborn(self) -> bool:
        return self.get("born") == "no"

    def keys(self) -> list[str]:
        """Every raw field of this child, as posted (date parts separately)."""
        return [f"{k}-{p}" for k in DATES for p in DATE_PARTS] + [k for k in CHILD if k not in DATES]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


@dataclass
class Referral:
    values: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=lambda: [Child(0)])

    # -- reading and changing the list of children ----------------------------------------

    @classmethod
    def read(cls, form: Mapping[str, str]) -> Referral:
        def clean(name: str) -> str:
            return (form.get(name) or "").strip()

        try:
            count = int(form.get("child_count") or 1)
        except ValueError:
            count = 1
        count = max(1, min(count, MAX_CHILDREN))
        children = []
        for index in range(count):
            child = Child(index)
            child.values = {k: clean(child.name(k)) for k in child}
            children.append(child)
        return cls({k: clean(k) for k in TOP}, children)

    def add_child(self) -> None:
        if len(self.children) < MAX_CHILDREN:
            self.children.append(Child(len(self.children)))

    def remove_child(self, index: int) -> None:
        if len(self.children) > 1 and 0 <= index < len(self.children):
            kept = [c for c in self.children if c.index != index]
            self.children = [Child(n, c.values) for n, c in enumerate(kept)]

    @property
    def anonymous(self) -> bool:
        return self.values.get("anonymous") == "yes"

    def hidden_fields(self) -> list[tuple[str, str]]:
        """Every answer as (name, value), for the check page's hidden fields."""
        pairs = [(k, self.values.get(k, "")) for k in TOP]
        pairs.append(("child_count", str(len(self.children))))
        for child in self.children:
            pairs.extend((child.name(k), child.get(k)) for k in child)
        return pairs

    # -- checking -------------------------------------------------------------------------

    def page_order(self) -> list[str]:
        """Field names as the page shows them (the error summary follows this order)."""
        names = ["anonymous", *REFERRER, "referrer_relationship"]
        for child in self.children:
            names.extend(child.name(k) for k in CHILD)
        return [*names, "concerns", "consent"]

    def anchors(self) -> dict[str, str]:
        """The id an error links to when it is not the field's name: a date's day box."""
        return {c.name(k): f"{c.name(k)}-day" for c in self.children for k in DATES}

    def validate(self) -> dict[str, str]:
        values = self.values
        errors: dict[str, str] = {}
        if values["anonymous"] not in ANONYMOUS:
            errors["anonymous"] = "Select whether you want to tell us who you are"
        elif not self.anonymous:
            if not values["referrer_name"]:
                errors["referrer_name"] = "Enter your name"
            if not values["referrer_phone"]:
                errors["referrer_phone"] = "Enter a phone number we can call you on"
            if values["referrer_email"] and "@" not in values["referrer_email"]:
                errors["referrer_email"] = "Enter an email address in the correct format, like name@example.com"
        for child in self.children:
            errors.update(self._child_errors(child))
        if not values["concerns"]:
            errors["concerns"] = "Tell us what you are worried about"
        if values["consent"] not in CONSENT:
            errors["consent"] = "Select whether the family knows about this referral"
        for key, value in self.hidden_fields():
            base = key.rsplit("-", 1)[0] if key.endswith(tuple(f"-{p}" for p in DATE_PARTS)) else key
            if len(value) > LIMITS.get(key, LIMIT) and base not in errors:
                errors[base] = "This answer is too long"
        order = self.page_order()
        return {k: errors[k] for k in order if k in errors}

    def _child_errors(self, child: Child) -> dict[str, str]:
        whose = "the child’s" if len(self.children) == 1 else f"child {child.number}’s"
        who = "the child" if len(self.children) == 1 else f"child {child.number}"
        errors: dict[str, str] = {}
        if not child.get("last_name"):
            errors[child.name("last_name")] = f"Enter {whose} last name, or the family’s last name"
        today = now().date()
        if child.get("born") not in BORN:
            errors[child.name("born")] = f"Select whether {who} has been born"
        elif child.unborn:
            parts = [child.get(f"expected_date_of_delivery-{p}") for p in DATE_PARTS]
            due = child.date("expected_date_of_delivery")
            key = child.name("expected_date_of_delivery")
            if not any(parts):
                errors[key] = f"Enter the date {who} is due, even if it is a guess"
            elif due is None:
                errors[key] = "The expected date of delivery must be a real date, for example 1 3 2027"
            elif due < today - timedelta(days=31):
                errors[key] = (
                    "The expected date of delivery must be in the future. If the baby has been born, answer Yes"
                )
            elif due > today + timedelta(days=300):
                errors[key] = "The expected date of delivery must be within the next 10 months"
        else:
            parts = [child.get(f"date_of_birth-{p}") for p in DATE_PARTS]
            born = child.date("date_of_birth")
            key = child.name("date_of_birth")
            if any(parts):
                if born is None:
                    errors[key] = "Date of birth must be a real date, for example 27 3 2016"
                elif born > today:
                    errors[key] = "Date of birth must be in the past"
            elif not child.get("age"):
                errors[key] = f"Enter {whose} date of birth, or their age if you do not know it"
        return errors

    # -- what the check page shows and what the service receives -------------------------

    def contact(self) -> dict:
        """The contact for cases.start_online_referral: one entry in `children` per child."""
        values = self.values
        referrer = {
            "anonymous": self.anonymous,
            "relationship": values["referrer_relationship"] or None,
            "name": None,
            "phone": None,
            "email": None,
            "role": None,
            "agency": None,
        }
        if not self.anonymous:
            referrer.update(
                {
                    "name": values["referrer_name"],
                    "phone": values["referrer_phone"],
                    "email": values["referrer_email"] or None,
                    "role": values["referrer_role"] or None,
                    "agency": values["referrer_agency"] or None,
                }
            )
        children = []
        for child in self.children:
            born = None if child.unborn else child.date("date_of_birth")
            due = child.date("expected_date_of_delivery") if child.unborn else None
            # an unborn baby without a name is "Unborn", as the MASH officer's form records one
            first_name = child.get("first_name") or ("Unborn" if child.unborn else None)
            children.append(
                {
                    "first_name": first_name,
                    "last_name": child.get("last_name"),
                    "date_of_birth": born.isoformat() if born else None,
                    "expected_date_of_delivery": due.isoformat() if due else None,
                    "approximate_age": None if child.unborn else (child.get("age") or None),
                    "address": child.get("address") or None,
                }
            )
        return {"referrer": referrer, "children": children, "summary": values["concerns"], "consent": values["consent"]}

    def sections(self) -> list[dict]:
        """The check-your-answers page: a heading and rows per section. A row is (label, answer, the id
        its Change lands on, what Change changes, for screen readers)."""
        values = self.values
        you = [
            (
                "Do you want to tell us who you are?",
                ANONYMOUS.get(values["anonymous"], ""),
                "anonymous",
                "whether you tell us who you are",
            )
        ]
        if not self.anonymous:
            you += [
                ("Your name", values["referrer_name"], "referrer_name", "your name"),
                ("Phone number", values["referrer_phone"], "referrer_phone", "your phone number"),
                ("Email address", values["referrer_email"] or "Not given", "referrer_email", "your email address"),
                ("Your job or role", values["referrer_role"] or "Not given", "referrer_role", "your job or role"),
                ("Organisation", values["referrer_agency"] or "Not given", "referrer_agency", "your organisation"),
            ]
        you.append(
            (
                "How do you know the child?",
                values["referrer_relationship"] or "Not given",
                "referrer_relationship",
                "how you know the child",
            )
        )
        sections = [{"heading": "About you", "rows": you}]
        for child in self.children:
            of = "the child" if len(self.children) == 1 else f"child {child.number}"
            name = " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p)
            rows = [
                ("Name", name, child.name("first_name"), f"name of {of}"),
                ("Born yet?", BORN[child.get("born")], child.name("born"), f"whether {of} has been born"),
            ]
            if child.unborn:
                rows.append(
                    (
                        "Expected date of delivery",
                        long_date(child.date("expected_date_of_delivery")),
                        child.name("expected_date_of_delivery") + "-day",
                        f"expected date of delivery of {of}",
                    )
                )
            elif child.date("date_of_birth"):
                rows.append(
                    (
                        "Date of birth",
                        long_date(child.date("date_of_birth")),
                        child.name("date_of_birth") + "-day",
                        f"date of birth of {of}",
                    )
                )
            else:
                rows.append(("Age", child.get("age"), child.name("age"), f"age of {of}"))
            rows.append(("Address", child.get("address") or "Not given", child.name("address"), f"address of {of}"))
            heading = "About the child" if len(self.children) == 1 else f"Child {child.number}"
            sections.append({"heading": heading, "rows": rows})
        sections.append(
            {
                "heading": "Your concerns",
                "rows": [
                    ("What are you worried about?", values["concerns"], "concerns", "what you are worried about"),
                    (
                        "Does the child’s family know you are telling us?",
                        CONSENT[values["consent"]],
                        "consent",
                        "whether the family knows",
                    ),
                ],
            }
        )
        return sections
