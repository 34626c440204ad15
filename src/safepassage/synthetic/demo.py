"""The demo operation: a seeded, realistic airlift to browse, test and measure against.

Households of Afghan evacuees on the lists of a dozen nations, the same people again on other
lists under other spellings (as happened in 2021), Russian, Belarusian, Kyrgyz, Armenian and
Ukrainian nationals and Afghan students for the Russian flights, 14 days of flights with aid
cargo, receiving sites and one login per role. The same seed builds the same operation.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from safepassage.adapters.db.engine import optimize
from safepassage.bootstrap import System
from safepassage.domain.access import Role
from safepassage.domain.flights import Cargo, Flight, FlightStatus, ReceivingSite
from safepassage.domain.nations import EligibilityPolicy, FamilyRule, Nation, PolicyRule
from safepassage.domain.operation import Operation
from safepassage.domain.people import Category, Person, Relationship
from safepassage.domain.pipeline import PersonStatus
from safepassage.services import auth
from safepassage.services.common import SYSTEM, audit
from safepassage.services.linkage import run_linkage
from safepassage.services.passes import IssuePass, issue_pass
from safepassage.services.stations import ensure_default_stations
from safepassage.synthetic.demo_data import AID_CONSIGNEES, NATIONS, SITES
from safepassage.synthetic.demo_people import RU_FRIENDS, WESTERN, Generator

Progress = Callable[[int], None]


def policies() -> list[EligibilityPolicy]:
    """Realistic policies: each nation's own citizens, and the Afghans it had promised to take."""
    out = []
    for code in WESTERN:
        rules = [
            PolicyRule(nationalities=frozenset({code}), label=f"{code} citizens"),
            PolicyRule(
                categories=frozenset({Category.PERMANENT_RESIDENT, Category.VISA_HOLDER}),
                sponsoring_nations=frozenset({code}),
                label=f"residents and visa holders of {code}",
            ),
            PolicyRule(
                nationalities=frozenset({"AF"}),
                categories=frozenset({Category.AT_RISK_STAFF}),
                sponsoring_nations=frozenset({code}),
                label=f"Afghans who worked for {code}",
            ),
        ]
        if code == "US":
            rules.append(
                PolicyRule(
                    categories=frozenset({Category.THIRD_COUNTRY_NATIONAL}),
                    label="third-country nationals (coalition)",
                )
            )
        out.append(
            EligibilityPolicy(
                code,
                tuple(rules),
                FamilyRule.ALL if code == "TR" else FamilyRule.HEAD,
                offers_spare_seats=code != "TR",
            )
        )
    out.append(
        EligibilityPolicy(
            "RU",
            (
                PolicyRule(
                    nationalities=frozenset(RU_FRIENDS),
                    label="Russian, Belarusian, Kyrgyz, Armenian and Ukrainian nationals",
                ),
                PolicyRule(
                    nationalities=frozenset({"AF"}),
                    categories=frozenset({Category.STUDENT}),
                    sponsoring_nations=frozenset({"RU"}),
                    label="Afghan students accepted by Russian universities",
                ),
            ),
            FamilyRule.HEAD,  # an Afghan spouse flies with a Russian head of household
            offers_spare_seats=False,
        )
    )
    return out


SITE_FOR = {
    "US": ("Al Udeid Air Base", "Ramstein Air Base", "Naval Air Station Sigonella"),
    "GB": ("Al Dhafra Air Base", "RAF Brize Norton"),
    "DE": ("Tashkent International", "Ramstein Air Base"),
    "FR": ("Al Dhafra Air Base",),
    "IT": ("Naval Air Station Sigonella", "Islamabad International"),
    "CA": ("Al Udeid Air Base",),
    "NL": ("Islamabad International", "Al Udeid Air Base"),
    "ES": ("Torrejon Air Base", "Al Dhafra Air Base"),
    "TR": ("Islamabad International",),
    "AU": ("Al Dhafra Air Base",),
    "RU": ("Chkalovsky Airport",),
}
STATUS_SHARE = (
    (PersonStatus.REGISTERED, 62),
    (PersonStatus.CALLED_FORWARD, 9),
    (PersonStatus.AT_GATE, 1),
    (PersonStatus.DOCUMENTS_CHECKED, 1),
    (PersonStatus.SCREENED, 1),
    (PersonStatus.MANIFESTED, 1),
    (PersonStatus.DEPARTED, 6),
    (PersonStatus.ARRIVED, 16),
    (PersonStatus.NO_SHOW, 2),
    (PersonStatus.DEFERRED, 1),
)


def flights_for(
    rng: random.Random,
    start: dt.date,
    days: int,
    zone: dt.tzinfo,
    sites: dict[str, int],
    now: dt.datetime,
) -> list[Flight]:
    out: list[Flight] = []
    for d in range(days):
        day = start + dt.timedelta(days=d)
        for code in [*WESTERN, "RU"]:
            _, _, _, _, prefix, types = NATIONS[code]
            count = (
                1
                if code == "RU" and d % 2 == 0
                else 0
                if code == "RU"
                else rng.choice((1, 2, 2, 3, 4))
            )
            for _ in range(count):
                arr = dt.datetime.combine(
                    day, dt.time(rng.randrange(0, 21), rng.choice((0, 15, 30, 45))), zone
                )
                dep = arr + dt.timedelta(minutes=rng.randrange(90, 240, 15))
                ac = rng.choice(types)
                status = (
                    FlightStatus.DEPARTED
                    if dep < now
                    else FlightStatus.ON_GROUND
                    if arr < now
                    else FlightStatus.PLANNED
                )
                if status is FlightStatus.PLANNED and rng.random() < 0.03:
                    status = FlightStatus.CANCELLED
                cargo: tuple[Cargo, ...] = ()
                if code == "RU":
                    cargo = (
                        Cargo(
                            36000,
                            "humanitarian aid: food, medicines, blankets",
                            rng.choice(AID_CONSIGNEES),
                        ),
                    )
                elif rng.random() < 0.15:
                    cargo = (
                        Cargo(
                            rng.randrange(2000, 15000, 500),
                            rng.choice(
                                (
                                    "medical supplies",
                                    "food",
                                    "water purification",
                                    "tents and blankets",
                                )
                            ),
                            rng.choice(AID_CONSIGNEES),
                        ),
                    )
                digits = 4 if len(prefix) == 4 else 3
                callsign = f"{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"[:10]
                out.append(
                    Flight(
                        code,
                        ac,
                        callsign,
                        arr,
                        dep,
                        sites[rng.choice(SITE_FOR[code])],
                        medics=rng.choice((0, 0, 1, 2))
                        if ac in ("C-17A", "A400M", "IL-76MD", "C-130J")
                        else 0,
                        status=status,
                        cargo=cargo,
                    )
                )
    return out


@dataclass(frozen=True)
class DemoResult:
    people: int
    households: int
    flights: int
    logins: dict[str, tuple[str, str]]  # role -> (username, password)
    merged: int = 0  # records merged by the linkage as the same person as another
    review: int = 0  # pairs waiting in the review queue
    called: int = 0  # households called forward with a pass
    planned: int = 0  # households on a departure in the first plan


def build_demo(
    system: System,
    registrants: int = 50_000,
    seed: int = 2021,
    progress: Progress | None = None,
    with_users: bool = True,
) -> DemoResult:
    """Load the demo operation into an empty, migrated database."""
    system.migrate()
    rng = random.Random(seed)
    op = Operation("Kabul evacuation airlift (demo)", "OAKB", "Asia/Kabul")
    now = system.clock()
    today = now.astimezone(op.zone).date()
    with system.uow() as uow:
        if uow.people.get_many([1]) or uow.nations.all():
            raise RuntimeError(
                "the database already holds an operation; build the demo into a new one"
            )
        uow.operation.set(op)
        for code, (name, operating, sending, sponsor_only, *_rest) in NATIONS.items():
            uow.nations.upsert(Nation(code, name, operating, sending, sponsor_only))
        for p in policies():
            uow.nations.set_policy(p)
        sites = {
            name: uow.sites.add(ReceivingSite(name, country, cap, None, airport))
            for name, country, cap, airport in SITES
        }
        flights = flights_for(rng, today - dt.timedelta(days=3), 14, op.zone, sites, now)
        uow.flights.add_many(flights)
        audit(uow, SYSTEM, "demo.build", "operation", 1, seed=seed, registrants=registrants)
        uow.commit()
    gen = Generator(seed, today)
    people = households = 0
    for hhs, dups in gen.stream(registrants):
        with system.uow() as uow:
            refs = [
                {
                    "reference": f"H{households + i + 1:07d}",
                    "head_person_id": 0,
                    "created_at": now,
                    "version": 0,
                }
                for i in range(len(hhs))
            ]
            hids = uow.households.add_many(refs)
            batch: list[Person] = []
            for hid, h in zip(hids, hhs, strict=True):
                status = rng.choices([s for s, _ in STATUS_SHARE], [w for _, w in STATUS_SHARE])[0]
                batch += [replace(m, household_id=hid, status=status) for m in h.members]
            batch += dups
            ids = uow.people.add_many(batch, now)
            heads = [
                {"hid": p.household_id, "pid": pid}
                for pid, p in zip(ids, batch, strict=True)
                if p.relationship is Relationship.HEAD and p.household_id is not None
            ]
            uow.households.set_heads(heads)
            uow.history.add_many(
                [
                    {
                        "entity": "person",
                        "entity_id": pid,
                        "at": now,
                        "username": "system",
                        "action": "imported",
                        "changes": {"source": [None, f"demo list of {p.sponsoring_nation}"]},
                    }
                    for pid, p in zip(ids, batch, strict=True)
                ]
            )
            uow.commit()
        people += len(batch)
        households += len(hhs)
        if progress:
            progress(len(batch))
    optimize(system.engine)
    # the lists overlap (the same people under other spellings): link them as an operation would
    link = run_linkage(SYSTEM, system.uow)
    called = call_forward_some(system, rng, now)
    planned = first_plan(system)
    logins: dict[str, tuple[str, str]] = {}
    if with_users:
        for role, username, nation, org, station in (
            (Role.COORDINATOR, "coordinator", None, None, None),
            (Role.LIAISON, "ru.liaison", "RU", None, None),
            (Role.LIAISON, "us.liaison", "US", None, None),
            (Role.SPONSOR, "kfu.sponsor", None, "Kazan Federal University", None),
            (Role.STATION, "gate.operator", None, None, "gate"),
            (Role.STATION, "boarding.operator", None, None, None),
            (Role.VIEWER, "viewer", None, None, None),
        ):
            password = secrets.token_urlsafe(12)
            auth.create_user(
                auth.NewUser(username, password, role.value, nation, org, station),
                SYSTEM,
                system.uow(),
            )
            logins[username] = (role.value, password)
    return DemoResult(
        people, households, len(flights), logins, link.merged, link.review, called, planned
    )


STATION_CAPACITY = {"gate": 600, "documents": 300, "security": 400, "medical": 80}
"""Persons an hour, by kind of station, for the demo's waves (a medical check is slow)."""


def first_plan(system: System) -> int:
    """The stations' capacities, then the operation's first plan; how many households it flies."""
    from safepassage.services import planning
    from safepassage.services.planning_config import set_station_capacity

    for s in ensure_default_stations(SYSTEM, system.uow()):
        per_hour = STATION_CAPACITY.get(s.kind.value)
        if per_hour:
            set_station_capacity(s.id, per_hour, SYSTEM, system.uow())
    made = planning.make_plan(SYSTEM, system.uow(), "the demo's first plan")
    return len(made.result.assignment)


def call_forward_some(system: System, rng: random.Random, now: dt.datetime, n: int = 40) -> int:
    """The usual stations, and passes for a few registered households (valid from an hour ago
    for twelve hours), so that the gate has something to scan."""
    gate = ensure_default_stations(SYSTEM, system.uow())[0]
    with system.uow() as uow:
        waiting = uow.processing.households_all_in("registered", n * 5)
    chosen = rng.sample(waiting, min(n, len(waiting)))
    start = now - dt.timedelta(hours=1)
    for hid in sorted(chosen):
        issue_pass(
            IssuePass(hid, gate.id, start, start + dt.timedelta(hours=12)),
            SYSTEM,
            system.uow(),
            system.keys,
        )
    return len(chosen)
