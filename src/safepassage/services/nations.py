"""Nations of the operation and the eligibility policy of each operating nation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.countries import country
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.domain.nations import EligibilityPolicy, FamilyRule, Nation, PolicyRule
from safepassage.services.common import UnitOfWork, audit, demand, refuse


@dataclass(frozen=True)
class RuleInput:
    """One rule of a policy as a form or the API sends it; an empty rule is left out."""

    nationalities: Sequence[str] = ()
    categories: Sequence[str] = ()
    sponsoring_nations: Sequence[str] = ()
    label: str = ""


@dataclass(frozen=True)
class PolicyInput:
    """A nation's eligibility policy as a form or the API sends it."""

    rules: Sequence[RuleInput] = ()
    family_rule: str = "head"
    offers_spare_seats: bool = False


@dataclass(frozen=True)
class NationsView:
    """The nations of the operation, their policies, and which policies the caller may set."""

    nations: list[Nation]
    policies: dict[str, EligibilityPolicy] = field(default_factory=dict)
    editable_policies: set[str] = field(default_factory=set)


def list_nations(who: Principal, uow: UnitOfWork) -> NationsView:
    """The nations and their policies, for anyone logged in."""
    with uow:
        demand(uow, who, Action.NATIONS_VIEW, "nation")
        nations = uow.nations.all()
        if who.role is Role.COORDINATOR:
            editable = {n.code for n in nations if n.operating}
        elif who.role is Role.LIAISON and who.nation:
            editable = {who.nation}
        else:
            editable = set()
        return NationsView(nations, uow.nations.policies(), editable)


def save_nation(
    code: str,
    name: str,
    operating: bool,
    sending: bool,
    sponsor_only: bool,
    who: Principal,
    uow: UnitOfWork,
) -> str:
    """Add a nation to the operation or change its roles; returns its code.

    Without a name, the nation takes its ISO 3166 name.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: for an unknown country code, or roles that do not go together.
    """
    with uow:
        demand(uow, who, Action.NATIONS_WRITE, "nation", code)
        n = Nation(
            code,
            name or (country(code, "code").name if code else ""),
            operating,
            sending,
            sponsor_only,
        )
        uow.nations.upsert(n)
        audit(uow, who, "nation.save", "nation", n.code, roles=n.roles)
        uow.commit()
        return n.code


def _policy(code: str, cmd: PolicyInput) -> EligibilityPolicy:
    errors: list[FieldError] = []
    rules: list[PolicyRule] = []
    for i, r in enumerate(cmd.rules, start=1):
        if not (r.nationalities or r.categories or r.sponsoring_nations):
            continue
        try:
            rules.append(
                PolicyRule(
                    frozenset(x.strip() for x in r.nationalities if x.strip()),
                    frozenset(x.strip() for x in r.categories if x.strip()),  # type: ignore[misc]
                    frozenset(x.strip() for x in r.sponsoring_nations if x.strip()),
                    r.label.strip(),
                )
            )
        except InvalidInput as e:
            errors.extend(FieldError("rules", f"rule {i}: {x.message}") for x in e.errors)
        except ValueError as e:
            errors.append(FieldError("rules", f"rule {i}: unknown category ({e})"))
    try:
        family = FamilyRule(cmd.family_rule)
    except ValueError:
        errors.append(FieldError("family_rule", "choose head, all or any"))
        family = FamilyRule.HEAD
    check(errors)
    return EligibilityPolicy(code, tuple(rules), family, bool(cmd.offers_spare_seats))


def set_policy(code: str, cmd: PolicyInput, who: Principal, uow: UnitOfWork) -> None:
    """Replace an operating nation's policy; a liaison may set its own nation's only.

    Raises:
        AccessDenied: (audited) for a role that may not, or a liaison of another nation.
        NotFound: for a nation not in the operation.
        InvalidInput: for a nation that flies no aircraft, or a rule to fix.
    """
    with uow:
        demand(uow, who, Action.POLICY_WRITE, "policy", code)
        code = (code or "").upper()
        if who.role is Role.LIAISON and code != who.nation:
            raise refuse(
                uow,
                who,
                "policy.write",
                "policy",
                code,
                f"a liaison of {who.nation} sets {who.nation}'s policy only",
            )
        n = uow.nations.get(code)
        if n is None:
            raise NotFound(f"no nation {code}")
        if not n.operating:
            raise InvalidInput(
                f"{n.name} flies no aircraft; only operating nations have a policy", field="nation"
            )
        policy = _policy(code, cmd)
        before = uow.nations.policy(code)
        uow.nations.set_policy(policy)
        audit(
            uow,
            who,
            "policy.set",
            "policy",
            code,
            before=[r.describe() for r in before.rules] if before else [],
            after=[r.describe() for r in policy.rules],
            family_rule=policy.family_rule.value,
            offers_spare_seats=policy.offers_spare_seats,
        )
        uow.commit()
