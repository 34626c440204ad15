"""Nations taking part in the operation and the eligibility policy of each operating nation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.people import Category, Relationship


class Traits(Protocol):
    """What a policy looks at in a person.

    A ``Person`` has all of it; so does the planning snapshot's lighter record.
    """

    @property
    def nationalities(self) -> Sequence[str]:
        """Country codes of the person's nationalities."""
        ...

    @property
    def category(self) -> Category:
        """The person's standing: citizen, permanent resident, at-risk staff and so on."""
        ...

    @property
    def sponsoring_nation(self) -> str | None:
        """The nation sponsoring the person, if any."""
        ...

    @property
    def relationship(self) -> Relationship | None:
        """The person's place in their household (the head, a spouse, a child...)."""
        ...

    @property
    def display_name(self) -> str:
        """The name a decision's reason gives for the person."""
        ...


@dataclass(frozen=True)
class Nation:
    """A nation in the operation: flies aircraft, has people on lists, or only sponsors."""

    code: str
    name: str
    operating: bool = False
    sending: bool = False
    sponsor_only: bool = False

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        try:
            object.__setattr__(self, "code", alpha2(self.code, "code"))
        except InvalidInput as e:
            errors.extend(e.errors)
        if not (self.name or "").strip():
            errors.append(FieldError("name", "a name is required"))
        if self.sponsor_only and (self.operating or self.sending):
            errors.append(FieldError("roles", "a sponsor-only nation neither operates nor sends"))
        if not (self.operating or self.sending or self.sponsor_only):
            errors.append(FieldError("roles", "choose at least one role"))
        check(errors)

    @property
    def roles(self) -> list[str]:
        """The roles the nation has, as the coordinators read them."""
        ...
        return [
            r
            for r, on in (
                ("operating", self.operating),
                ("sending", self.sending),
                ("sponsor-only", self.sponsor_only),
            )
            if on
        ]


class FamilyRule(StrEnum):
    """Which members of a household must be eligible for the household to fly."""

    HEAD = "head"
    """The household is eligible if its head is (family members follow the head)."""
    ALL = "all"
    """Every member must be eligible in their own right."""
    ANY = "any"
    """One eligible member brings the household."""


@dataclass(frozen=True)
class PolicyRule:
    """One clause: a person matches if every non-empty set contains their value."""

    nationalities: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[Category] = field(default_factory=frozenset)
    sponsoring_nations: frozenset[str] = field(default_factory=frozenset)
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "nationalities", frozenset(alpha2(c, "nationalities") for c in self.nationalities)
        )
        object.__setattr__(
            self,
            "sponsoring_nations",
            frozenset(alpha2(c, "sponsoring_nations") for c in self.sponsoring_nations),
        )
        object.__setattr__(self, "categories", frozenset(Category(c) for c in self.categories))

    def matches(self, p: Traits) -> bool:
        """Whether the person ``p`` meets this clause."""
        return (
            (not self.nationalities or bool(self.nationalities & set(p.nationalities)))
            and (not self.categories or p.category in self.categories)
            and (not self.sponsoring_nations or p.sponsoring_nation in self.sponsoring_nations)
        )

    def describe(self) -> str:
        """The clause in words for a nation liaison: its label, or what it asks for."""
        parts = []
        if self.nationalities:
            parts.append("nationals of " + ", ".join(sorted(self.nationalities)))
        if self.categories:
            parts.append("category " + " or ".join(sorted(c.value for c in self.categories)))
        if self.sponsoring_nations:
            parts.append("sponsored by " + ", ".join(sorted(self.sponsoring_nations)))
        return self.label or (" and ".join(parts) if parts else "anyone")


@dataclass(frozen=True)
class Decision:
    """Whether a nation may carry a household, with the reason a liaison reads."""

    eligible: bool
    reason: str


@dataclass(frozen=True)
class EligibilityPolicy:
    """Whom an operating nation's aircraft may carry."""

    nation: str
    rules: tuple[PolicyRule, ...]
    family_rule: FamilyRule = FamilyRule.HEAD
    offers_spare_seats: bool = False

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        try:
            object.__setattr__(self, "nation", alpha2(self.nation, "nation"))
        except InvalidInput as e:
            errors.extend(e.errors)
        if not self.rules:
            errors.append(
                FieldError("rules", "a policy needs at least one rule of whom it carries")
            )
        check(errors)

    def person_eligible(self, p: Traits) -> bool:
        """Whether ``p`` is eligible in their own right: they match at least one rule."""
        return any(r.matches(p) for r in self.rules)

    def evaluate(self, members: Sequence[Traits]) -> Decision:
        """Whether this nation may carry the household ``members``, and why (not)."""
        if not members:
            return Decision(False, "the household has no members")
        head = next((m for m in members if m.relationship is Relationship.HEAD), members[0])
        ok = [self.person_eligible(m) for m in members]
        if self.family_rule is FamilyRule.HEAD:
            if ok[members.index(head)]:
                return Decision(True, f"head {head.display_name} is eligible")
            return Decision(False, f"head {head.display_name} matches no rule of {self.nation}")
        if self.family_rule is FamilyRule.ALL:
            bad = [m for m, e in zip(members, ok, strict=True) if not e]
            if not bad:
                return Decision(True, "every member is eligible")
            return Decision(False, f"{bad[0].display_name} matches no rule of {self.nation}")
        if any(ok):
            return Decision(True, "a member is eligible")
        return Decision(False, f"no member matches a rule of {self.nation}")
