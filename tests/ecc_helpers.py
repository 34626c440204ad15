"""Shared by the evacuation control centre's integration and browser tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.domain.mrz import check_digit
from safepassage.services import households, people
from safepassage.services.common import SYSTEM


def td3(surname: str, given: str, number: str, birth: str, sex: str = "M") -> str:
    """The two lines of a passport's machine-readable zone, check digits computed."""
    line1 = f"P<AFG{surname}<<{given}".ljust(44, "<")
    num = number.ljust(9, "<")
    opt = "<" * 14
    parts = [num + check_digit(num), birth + check_digit(birth), "301231" + check_digit("301231")]
    composite = check_digit(parts[0] + parts[1] + parts[2] + opt + check_digit(opt))
    line2 = parts[0] + "AFG" + parts[1] + sex + parts[2] + opt + check_digit(opt) + composite
    return line1 + "\n" + line2


def passport_family(
    uow: Callable[[], SqlUnitOfWork], family: str, members: Sequence[tuple[str, str, str]]
) -> tuple[int, list[int]]:
    """A household on the United States' list, each member (given name, date of birth,
    passport number) holding an Afghan passport; the first is the head."""
    ids = [
        people.create_person(
            people.PersonInput(
                given_name=given,
                family_name=family,
                date_of_birth=dob,
                nationalities=["AF"],
                category="visa_holder",
                sponsoring_nation="US",
                documents=[people.DocumentInput("passport", number, "AF", "2030-12-31")],
            ),
            SYSTEM,
            uow(),
        )
        for given, dob, number in members
    ]
    hh = households.create_household(
        households.HouseholdInput([(ids[0], "head")] + [(i, "spouse") for i in ids[1:]]),
        SYSTEM,
        uow(),
    )
    return hh, ids
