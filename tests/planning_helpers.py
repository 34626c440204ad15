"""Shared by the planning and simulation tests: households to plan (the world to plan them on is
the ``op`` fixture of tests/integration/conftest.py)."""

from __future__ import annotations

from safepassage.services import households, people
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World


def household(
    world: World,
    names: list[str],
    nationality: str,
    sponsor: str,
    category: str = "citizen",
    needs: tuple[str, ...] = (),
) -> int:
    uow = world.system.uow
    ids = [
        people.create_person(
            people.PersonInput(
                given_name=name,
                family_name="Family",
                sex="F" if i % 2 else "M",
                date_of_birth="2021-03-01" if name == "baby" else f"19{80 + i}",
                nationalities=[nationality],
                category=category,
                sponsoring_nation=sponsor,
                needs=list(needs) if i == 0 else [],
            ),
            SYSTEM,
            uow(),
        )
        for i, name in enumerate(names)
    ]
    return households.create_household(
        households.HouseholdInput([(ids[0], "head")] + [(i, "child") for i in ids[1:]]),
        SYSTEM,
        uow(),
    )
