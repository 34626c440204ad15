"""Households, nations and policies, receiving sites, flights and the operation in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import insert_many, new_ids, write_rows
from safepassage.adapters.db.keys_repo import Keys
from safepassage.domain.errors import Conflict
from safepassage.domain.flights import Cargo, Flight, FlightStatus, ReceivingSite
from safepassage.domain.nations import EligibilityPolicy, FamilyRule, Nation, PolicyRule
from safepassage.domain.operation import Operation
from safepassage.domain.people import Category


class HouseholdRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, reference: str, head_id: int, now: dt.datetime) -> int:
        return int(
            self.conn.execute(
                t.household.insert()
                .values(reference=reference, head_person_id=head_id, created_at=now, version=0)
                .returning(t.household.c.id)
            ).scalar_one()
        )

    def add_many(self, rows: Sequence[dict[str, object]]) -> list[int]:
        if not rows:
            return []
        return insert_many(self.conn, t.household, [dict(r) for r in rows])

    def get(self, household_id: int) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.household).where(t.household.c.id == household_id)
        ).first()

    def set_head(self, household_id: int, head_id: int, version: int) -> None:
        res = self.conn.execute(
            t.household.update()
            .where(t.household.c.id == household_id, t.household.c.version == version)
            .values(head_person_id=head_id, version=version + 1)
        )
        if res.rowcount != 1:
            raise Conflict("this household was changed by someone else; reload it and try again")

    def add_numbered(self, heads: Sequence[int], now: dt.datetime) -> list[int]:
        """New households for these heads, referenced H0000123 after their own id."""
        ids = new_ids(self.conn, t.household, len(heads))
        write_rows(
            self.conn,
            t.household,
            [
                {
                    "id": i,
                    "reference": f"H{i:07d}",
                    "head_person_id": h,
                    "created_at": now,
                    "version": 0,
                }
                for i, h in zip(ids, heads, strict=True)
            ],
        )
        return ids

    def set_heads(self, rows: Sequence[dict[str, int]]) -> None:
        """Point households at their heads after a bulk load (``hid`` → ``pid``)."""
        if rows:
            self.conn.execute(
                t.household.update()
                .where(t.household.c.id == sa.bindparam("hid"))
                .values(head_person_id=sa.bindparam("pid")),
                list(rows),
            )

    def offers(self, household_id: int) -> list[sa.Row]:
        return list(
            self.conn.execute(
                sa.select(t.household_offer)
                .where(t.household_offer.c.household_id == household_id)
                .order_by(t.household_offer.c.nation)
            )
        )

    def offer(self, household_id: int, nation: str, by: str, now: dt.datetime) -> bool:
        exists = self.conn.execute(
            sa.select(t.household_offer.c.nation).where(
                t.household_offer.c.household_id == household_id,
                t.household_offer.c.nation == nation,
            )
        ).first()
        if exists:
            return False
        self.conn.execute(
            t.household_offer.insert().values(
                household_id=household_id, nation=nation, offered_by=by, offered_at=now
            )
        )
        return True

    def next_reference(self) -> str:
        n = self.conn.scalar(sa.select(sa.func.max(t.household.c.id))) or 0
        return f"H{n + 1:07d}"


def _policy(r: sa.Row) -> EligibilityPolicy:
    rules = tuple(
        PolicyRule(
            nationalities=frozenset(x.get("nationalities", [])),
            categories=frozenset(Category(c) for c in x.get("categories", [])),
            sponsoring_nations=frozenset(x.get("sponsoring_nations", [])),
            label=x.get("label", ""),
        )
        for x in r.rules
    )
    return EligibilityPolicy(r.nation, rules, FamilyRule(r.family_rule), r.offers_spare_seats)


def policy_rules_json(policy: EligibilityPolicy) -> list[dict[str, object]]:
    return [
        {
            "nationalities": sorted(r.nationalities),
            "categories": sorted(c.value for c in r.categories),
            "sponsoring_nations": sorted(r.sponsoring_nations),
            "label": r.label,
        }
        for r in policy.rules
    ]


class NationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def all(self) -> list[Nation]:
        return [
            Nation(r.code, r.name, r.operating, r.sending, r.sponsor_only)
            for r in self.conn.execute(sa.select(t.nation).order_by(t.nation.c.name))
        ]

    def get(self, code: str) -> Nation | None:
        r = self.conn.execute(sa.select(t.nation).where(t.nation.c.code == code)).first()
        return Nation(r.code, r.name, r.operating, r.sending, r.sponsor_only) if r else None

    def upsert(self, n: Nation) -> None:
        values = {
            "name": n.name,
            "operating": n.operating,
            "sending": n.sending,
            "sponsor_only": n.sponsor_only,
        }
        res = self.conn.execute(t.nation.update().where(t.nation.c.code == n.code).values(**values))
        if res.rowcount == 0:
            self.conn.execute(t.nation.insert().values(code=n.code, **values))
        keys = getattr(self.conn.dialect, "safepassage_vault", None)
        if n.operating and isinstance(keys, Keys):  # a nation's lists go under its own key
            keys.add_scope(self.conn, n.code, dt.datetime.now(dt.UTC))

    def policies(self) -> dict[str, EligibilityPolicy]:
        return {r.nation: _policy(r) for r in self.conn.execute(sa.select(t.eligibility_policy))}

    def policy(self, code: str) -> EligibilityPolicy | None:
        r = self.conn.execute(
            sa.select(t.eligibility_policy).where(t.eligibility_policy.c.nation == code)
        ).first()
        return _policy(r) if r else None

    def set_policy(self, p: EligibilityPolicy) -> None:
        values = {
            "rules": policy_rules_json(p),
            "family_rule": p.family_rule.value,
            "offers_spare_seats": p.offers_spare_seats,
        }
        c = t.eligibility_policy.c
        res = self.conn.execute(
            t.eligibility_policy.update()
            .where(c.nation == p.nation)
            .values(**values, version=c.version + 1)
        )
        if res.rowcount == 0:
            self.conn.execute(
                t.eligibility_policy.insert().values(nation=p.nation, version=0, **values)
            )


class SiteRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def all(self) -> list[ReceivingSite]:
        return [
            ReceivingSite(r.name, r.country, r.capacity_per_day, r.id, r.airport)
            for r in self.conn.execute(
                sa.select(t.receiving_site).order_by(t.receiving_site.c.name)
            )
        ]

    def get(self, site_id: int) -> ReceivingSite | None:
        r = self.conn.execute(
            sa.select(t.receiving_site).where(t.receiving_site.c.id == site_id)
        ).first()
        return ReceivingSite(r.name, r.country, r.capacity_per_day, r.id, r.airport) if r else None

    def by_name(self, name: str) -> ReceivingSite | None:
        r = self.conn.execute(
            sa.select(t.receiving_site).where(t.receiving_site.c.name == name)
        ).first()
        return ReceivingSite(r.name, r.country, r.capacity_per_day, r.id, r.airport) if r else None

    def add(self, s: ReceivingSite) -> int:
        return int(
            self.conn.execute(
                t.receiving_site.insert()
                .values(
                    name=s.name,
                    country=s.country,
                    capacity_per_day=s.capacity_per_day,
                    airport=s.airport,
                )
                .returning(t.receiving_site.c.id)
            ).scalar_one()
        )

    def update(self, s: ReceivingSite) -> None:
        self.conn.execute(
            t.receiving_site.update()
            .where(t.receiving_site.c.id == s.id)
            .values(
                name=s.name,
                country=s.country,
                capacity_per_day=s.capacity_per_day,
                airport=s.airport,
            )
        )


def _flight_values(f: Flight) -> dict[str, object]:
    return {
        "operating_nation": f.operating_nation,
        "aircraft_type": f.aircraft_type,
        "callsign": f.callsign,
        "scheduled_arrival": f.scheduled_arrival,
        "scheduled_departure": f.scheduled_departure,
        "destination_site_id": f.destination_site_id,
        "seats": f.seats,
        "payload_kg": f.payload_kg,
        "medics": f.medics,
        "status": f.status.value,
        "boarding_closes_at": f.boarding_closes_at,
        "stretcher_positions": f.stretcher_positions,
        "kg_per_person": f.kg_per_person,
    }


class FlightRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, f: Flight) -> int:
        fid = int(
            self.conn.execute(
                t.flight.insert().values(**_flight_values(f), version=0).returning(t.flight.c.id)
            ).scalar_one()
        )
        for c in f.cargo:
            self.add_cargo(fid, c)
        return fid

    def add_many(self, flights: Sequence[Flight]) -> list[int]:
        return [self.add(f) for f in flights]

    def update(self, f: Flight) -> None:
        res = self.conn.execute(
            t.flight.update()
            .where(t.flight.c.id == f.id, t.flight.c.version == f.version)
            .values(**_flight_values(f), version=f.version + 1)
        )
        if res.rowcount != 1:
            raise Conflict(
                "this flight was changed by someone else; reload it and apply your change again"
            )

    def add_cargo(self, flight_id: int, c: Cargo) -> int:
        return int(
            self.conn.execute(
                t.cargo.insert()
                .values(
                    flight_id=flight_id, kg=c.kg, description=c.description, consignee=c.consignee
                )
                .returning(t.cargo.c.id)
            ).scalar_one()
        )

    def get(self, flight_id: int) -> Flight | None:
        found = self.query(sa.true(), ids=[flight_id])
        return found[0] if found else None

    def between(self, start: dt.datetime | None, end: dt.datetime | None) -> list[Flight]:
        c = t.flight.c
        cond = sa.and_(
            c.scheduled_departure >= start if start else sa.true(),
            c.scheduled_departure < end if end else sa.true(),
        )
        return self.query(cond)

    def query(self, cond: sa.ColumnElement[bool], ids: Sequence[int] | None = None) -> list[Flight]:
        q = sa.select(t.flight).where(cond).order_by(t.flight.c.scheduled_departure, t.flight.c.id)
        if ids is not None:
            q = q.where(t.flight.c.id.in_(ids))
        rows = list(self.conn.execute(q))
        cargo: dict[int, list[Cargo]] = {}
        if rows:
            for c in self.conn.execute(
                sa.select(t.cargo)
                .where(t.cargo.c.flight_id.in_([r.id for r in rows]))
                .order_by(t.cargo.c.id)
            ):
                cargo.setdefault(c.flight_id, []).append(
                    Cargo(c.kg, c.description, c.consignee, c.id)
                )
        return [
            Flight(
                r.operating_nation,
                r.aircraft_type,
                r.callsign,
                r.scheduled_arrival,
                r.scheduled_departure,
                r.destination_site_id,
                r.seats,
                r.payload_kg,
                r.medics,
                FlightStatus(r.status),
                tuple(cargo.get(r.id, [])),
                r.id,
                r.version,
                r.boarding_closes_at,
                r.stretcher_positions,
                r.kg_per_person,
            )
            for r in rows
        ]


class OperationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self) -> Operation | None:
        r = self.conn.execute(sa.select(t.operation).where(t.operation.c.id == 1)).first()
        return Operation(r.name, r.airport_icao, r.timezone) if r else None

    def set(self, op: Operation) -> None:
        values = {"name": op.name, "airport_icao": op.airport_icao, "timezone": op.timezone}
        if (
            self.conn.execute(
                t.operation.update().where(t.operation.c.id == 1).values(**values)
            ).rowcount
            == 0
        ):
            self.conn.execute(t.operation.insert().values(id=1, **values))
