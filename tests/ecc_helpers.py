"""Shared by the evacuation control centre's integration and browser tests: passports, families,
and (``Ecc``) the integration tests' operation with its stations and shortcuts to scan."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.adapters.keyring import KeyRing
from safepassage.domain.access import Principal
from safepassage.domain.mrz import check_digit
from safepassage.domain.pipeline import StationKind
from safepassage.services import households, passes, people, processing, stations
from safepassage.services.common import SYSTEM
from tests.conftest import NOW

if TYPE_CHECKING:
    from tests.integration.conftest import World

HOUR = dt.timedelta(hours=1)


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


class Ecc:
    """The world's operation with the usual stations, a key ring and a few shortcuts."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.system = world.system
        self.keys = KeyRing(self.system.settings.secret_key)
        self.by_kind = {
            s.kind: s for s in stations.ensure_default_stations(SYSTEM, self.system.uow())
        }
        self.gate = self.by_kind[StationKind.GATE]
        self.coord = world.who["coordinator"]
        self.station_user = world.who["station"]

    def issue(self, household: int, start: dt.datetime = NOW - HOUR, gate: int | None = None):  # type: ignore[no-untyped-def]
        return passes.issue_pass(
            passes.IssuePass(household, gate or self.gate.id, start, start + 6 * HOUR),
            self.coord,
            self.system.uow(),
            self.keys,
        )

    def scan(
        self,
        text: str,
        kind: StationKind = StationKind.GATE,
        who: Principal | None = None,
        key: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        kw.setdefault("device", "lane-1")
        return processing.scan(
            processing.ScanInput(key or uuid.uuid4().hex, self.by_kind[kind].id, text, **kw),
            who or self.coord,
            self.system.scan_uow(),
            self.keys,
        )

    def status(self, person_id: int) -> str:
        with self.system.engine.connect() as c:
            return str(
                c.execute(sa.select(t.person.c.status).where(t.person.c.id == person_id)).scalar()
            )

    def count(self, table: sa.Table) -> int:
        with self.system.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def family(world: World, size: int = 3) -> tuple[int, list[int]]:
    """A household of ``size`` on Russia's list: a father, a mother, then a baby."""
    uow = world.system.uow
    ids = []
    for i in range(size):
        dob = "2020-12-01" if i == 2 else f"19{80 + i}"
        ids.append(
            people.create_person(
                people.PersonInput(
                    given_name=["Ahmad", "Farida", "Omid", "Sara"][i % 4],
                    family_name="Karimi",
                    sex="M" if i != 1 else "F",
                    date_of_birth=dob,
                    nationalities=["RU"],
                    category="citizen",
                    sponsoring_nation="RU",
                ),
                SYSTEM,
                uow(),
            )
        )
    hh = households.create_household(
        households.HouseholdInput([(ids[0], "head")] + [(i, "child") for i in ids[1:]]),
        SYSTEM,
        uow(),
    )
    return hh, ids


def walk_to_boarding(ecc: Ecc, code: str, flight: int) -> None:
    for kind in (
        StationKind.GATE,
        StationKind.DOCUMENTS,
        StationKind.SECURITY,
        StationKind.MEDICAL,
    ):
        assert ecc.scan(code, kind)["ok"], kind
    assert ecc.scan(code, StationKind.MANIFEST, flight_id=flight)["ok"]
