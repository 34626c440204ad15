"""What an import writes: each batch of its rows in one transaction, then the households.

A batch is the people it registers, updates or links, and the record of every row with its
status; the households are those the list's family numbers form.

A batch commits whole, so an import stopped half-way leaves whole people only; what each row
becomes is decided by :func:`safepassage.domain.row_status.row_status`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from typing import Any

from safepassage.adapters.db.intake_repo import sealed_errors
from safepassage.adapters.db.people_rows import Sealing, StoredPerson, rows_of, stored
from safepassage.adapters.files import Row, Sheet
from safepassage.domain.access import Principal
from safepassage.domain.intake import Target
from safepassage.domain.people import Person
from safepassage.domain.row_status import MATCHED_BY, RowStatus, document_match, row_status
from safepassage.services.common import UnitOfWork, audit
from safepassage.services.intake_check import CheckedRow
from safepassage.services.intake_rows import SourceDefaults, map_row
from safepassage.services.person_input import changes_between
from safepassage.services.uow import UnitOfWorkFactory


def no_counts() -> dict[str, int]:
    """Rows by status, none yet (in the order the report shows them)."""
    return {s.value: 0 for s in RowStatus}


@dataclass
class ImportRun:
    """What the batches of one import share."""

    who: Principal
    src: Any
    import_id: int
    include_hidden: bool
    targets: dict[str, Target | None]
    defaults: SourceDefaults
    today: dt.date
    counts: dict[str, int] = field(default_factory=no_counts)  # rows so far, by status
    seen: dict[str, int] = field(default_factory=dict)  # row key -> its first row in the file


def import_batch(
    uows: UnitOfWorkFactory,
    run: ImportRun,
    batch: list[tuple[Sheet, Row]],
    checked: list[CheckedRow],
) -> None:
    """One batch, in one transaction: its new people and the record of every row."""
    with uows() as uow:
        uow.intake.refresh_statistics()  # the tables grow as the import goes
        # what the source said before about each key (the first row is the main one)
        current = uow.intake.current_rows(run.src.id, {c.key_index: c.key for c in checked})
        registered = {key: rows[0].person_id for key, rows in current.items()}
        known = uow.intake.persons_by_documents(
            [
                number
                for c in checked
                if c.valid and registered.get(c.key) is None  # they may be registered already
                for kind, number, _, _ in c.matches
                if kind in MATCHED_BY
            ]
        )
        # the keys for what is sealed here, not in the checker: asked for once, if at all
        sealing = functools.cache(lambda: uow.intake.sealing(run.src.id))
        new_people: list[tuple[int, StoredPerson]] = []
        records: list[dict[str, Any]] = []
        retire: list[int] = []
        for i, ((sheet, row), c) in enumerate(zip(batch, checked, strict=True)):
            hidden = row.hidden or sheet.state != "visible"
            said = current.get(c.key, [])
            person_id = registered.get(c.key)
            existing = None
            if c.valid and person_id is None:
                existing = document_match(known, c.matches)
            status, reason = row_status(
                left_out=hidden and not run.include_hidden,
                repeats=run.seen.get(c.key),
                valid=c.valid,
                registered=person_id is not None,
                same_as_before=bool(said) and said[0].says(c.fingerprint),
                matched=existing is not None,
            )
            errors = c.sealed_errors
            if reason:  # sealed here, as the row's other fields were in the checker
                errors = sealed_errors(sealing(), [*c.errors, {"field": "", "message": reason}])
            if status is RowStatus.UPDATED:
                assert person_id is not None
                person = map_row(row.values, run.targets, run.defaults, run.today).person
                assert person is not None  # the same row, checked again
                _update(uow, run.who, person_id, person, run.src.name, row.number)
            elif status is RowStatus.MATCHED:
                person_id = existing
            elif status is RowStatus.IMPORTED:
                new_people.append((i, c.person or _sealed_here(run, row, sealing())))
            run.seen.setdefault(c.key, row.number)
            if status.current:  # what this row says supersedes what earlier lists said
                retire += [r.id for r in said if r.import_id != run.import_id]
            records.append(
                {
                    "source_id": run.src.id,
                    "import_id": run.import_id,
                    "sheet": sheet.name,
                    "row_number": row.number,
                    "row_key": c.key_index,
                    "fingerprint": c.fingerprint,
                    "values": c.cells,
                    "hidden": hidden,
                    "status": status.value,
                    "errors": errors,
                    "person_id": person_id,
                    "household_key": c.household_key,
                    "relationship": c.relationship,
                    "current": status.current,
                }
            )
            run.counts[status] += 1
        ids = uow.people.add_stored([p for _, p in new_people], uow.now())
        for (i, _), pid in zip(new_people, ids, strict=True):
            records[i]["person_id"] = pid
        # no history row per person: the row record (source, file, sheet, row) is the provenance
        uow.intake.retire(retire)
        uow.intake.add_rows(records)
        uow.intake.set_counts(run.import_id, run.counts)
        uow.commit()


def _sealed_here(run: ImportRun, row: Row, sealing: Sealing) -> StoredPerson:
    """The person of a row the checker did not seal, sealed here.

    The checker leaves a row's person unsealed when the list said the same before; it is
    registered now only if the one who said it was not (left out then, say, and now not).
    """
    person = map_row(row.values, run.targets, run.defaults, run.today).person
    assert person is not None  # the same row, checked again
    return stored(rows_of(person), sealing)


def _update(
    uow: UnitOfWork, who: Principal, person_id: int, new: Person, source: str, row_number: int
) -> None:
    old = uow.people.get(person_id)
    if old is None:
        return
    merged = replace(
        new,
        id=old.id,
        version=old.version,
        status=old.status,
        household_id=old.household_id,
        relationship=old.relationship,
    )
    changes = changes_between(old, merged)  # the same diff the record page shows
    if changes:
        uow.people.update(merged, uow.now())
        uow.history.add(
            "person",
            person_id,
            uow.now(),
            who.username,
            "updated from a list",
            {**changes, "source": [None, f"{source}, row {row_number}"]},
        )


def form_households(uows: UnitOfWorkFactory, who: Principal, import_id: int) -> int:
    """Group the people of an import by the list's household key, in one transaction.

    People already in a household keep it. The head is the row marked head, else the first row.
    """
    with uows() as uow:
        uow.intake.refresh_statistics()
        uow.commit()
        plans: list[list[tuple[int, str]]] = []
        taken: set[int] = set()
        for group in uow.intake.household_members(import_id).values():
            pids = [pid for pid, _, _ in group]
            free = all(f for _, _, f in group) and taken.isdisjoint(pids)
            if len(set(pids)) != len(pids) or not free:
                continue
            taken.update(pids)
            head = next((pid for pid, rel, _ in group if rel == "head"), pids[0])
            plans.append(
                [
                    (pid, "head" if pid == head else (rel if rel and rel != "head" else "other"))
                    for pid, rel, _ in group
                ]
            )
        now = uow.now()
        hids = uow.households.add_numbered(
            [next(p for p, r in plan if r == "head") for plan in plans], now
        )
        uow.people.set_households(
            [(pid, hid, rel) for hid, plan in zip(hids, plans, strict=True) for pid, rel in plan],
            now,
        )
        uow.history.add_many(
            [
                {
                    "entity": "household",
                    "entity_id": hid,
                    "at": now,
                    "username": who.username,
                    "action": "created from a list",
                    "changes": {"members": [None, [list(m) for m in plan]]},
                }
                for hid, plan in zip(hids, plans, strict=True)
            ]
        )
        if hids:
            audit(
                uow,
                who,
                "household.create",
                "import",
                import_id,
                households=len(hids),
                first=hids[0],
                last=hids[-1],
            )
        uow.commit()
        return len(hids)
