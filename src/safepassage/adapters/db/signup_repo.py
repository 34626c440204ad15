"""Public sign-ups in the database: receipts (their hash only) and self-declared people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from safepassage.adapters.db import tables as t


class SignupRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def mark_self_declared(self, person_ids: Sequence[int]) -> None:
        if person_ids:
            self.conn.execute(
                t.person.update().where(t.person.c.id.in_(person_ids)).values(self_declared=True)
            )

    def is_self_declared(self, person_id: int) -> bool:
        return bool(
            self.conn.scalar(sa.select(t.person.c.self_declared).where(t.person.c.id == person_id))
        )

    def receipt_taken(self, receipt_hash: str) -> bool:
        return (
            self.conn.scalar(
                sa.select(t.signup.c.id).where(t.signup.c.receipt_hash == receipt_hash)
            )
            is not None
        )

    def add(
        self,
        receipt_hash: str,
        household_id: int,
        head_person_id: int,
        created_at: dt.datetime,
        source: str,
        persons: int,
    ) -> None:
        self.conn.execute(
            t.signup.insert().values(
                receipt_hash=receipt_hash,
                household_id=household_id,
                head_person_id=head_person_id,
                created_at=created_at,
                source=source,
                persons=persons,
            )
        )

    def by_receipt(self, receipt_hash: str) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.signup).where(t.signup.c.receipt_hash == receipt_hash)
        ).first()

    def household_statuses(self, household_id: int) -> list[sa.Row]:
        """(status, self_declared) of each member: counts for a receipt check, no names."""
        p = t.person.c
        return list(
            self.conn.execute(
                sa.select(p.status, p.self_declared).where(p.household_id == household_id)
            )
        )
