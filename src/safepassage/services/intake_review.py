"""What the intake pages show and do besides importing.

The sources a caller may use with their latest imports, an import's progress, an import that
failed, and the quarantine, where a row that could not be registered is corrected and submitted
again. Nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import (
    Action,
    PersonScope,
    Principal,
    Role,
    may_use_source,
    may_write,
)
from safepassage.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from safepassage.domain.row_status import RowStatus, person_match
from safepassage.services.common import SYSTEM, UnitOfWork, audit, demand, refuse
from safepassage.services.intake import owned_source, targets_of
from safepassage.services.intake_rows import SourceDefaults, map_row, row_fingerprint, row_key

FINISHED = ("done", "failed", "interrupted")


@dataclass(frozen=True)
class ImportView:
    """One import as its page shows it: the rows done so far, by status."""

    id: int
    source_id: int
    source_name: str
    filename: str
    status: str  # running, done, failed, interrupted
    rows_total: int
    counts: dict[str, int]
    warnings: list[str]
    started_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def rows_done(self) -> int:
        """The rows the import has given a status so far."""
        return sum(self.counts.values())

    @property
    def finished(self) -> bool:
        """Whether the import has stopped: done, failed or interrupted."""
        return self.status in FINISHED

    @property
    def adds_up(self) -> bool:
        """Whether every row of the file has its status, as the counts must add up to the rows."""
        return self.rows_done == self.rows_total


@dataclass(frozen=True)
class SourceView:
    """A source of lists as the intake page shows it, with its latest imports and quarantine."""

    id: int
    name: str
    sponsoring_nation: str | None
    sponsor_org: str | None
    category: str
    imports: list[ImportView]  # the latest first
    quarantined: int  # rows that still wait for a correction


def _import_view(imp: Any, source_name: str) -> ImportView:
    return ImportView(
        imp.id,
        imp.source_id,
        source_name,
        imp.filename,
        imp.status,
        imp.rows_total,
        {s.value: int((imp.counts or {}).get(s, 0)) for s in RowStatus},
        list(imp.warnings or []),
        imp.started_by,
        imp.started_at,
        imp.finished_at,
    )


def list_sources(who: Principal, uow: UnitOfWork, last: int = 3) -> list[SourceView]:
    """The sources the caller may use, each with its latest imports and its rows in quarantine.

    A liaison may use its nation's sources; a sponsor, its organisation's. The quarantine is given
    as the number of rows waiting there.
    """
    with uow:
        demand(uow, who, Action.LISTS_IMPORT, "source")
        mine = [
            s
            for s in uow.intake.sources()
            if may_use_source(who, s.sponsoring_nation, s.sponsor_org)
        ]
        held = uow.intake.quarantined_counts([s.id for s in mine])
        return [
            SourceView(
                s.id,
                s.name,
                s.sponsoring_nation,
                s.sponsor_org,
                s.category,
                [_import_view(i, s.name) for i in uow.intake.imports(s.id)[:last]],
                held.get(s.id, 0),
            )
            for s in mine
        ]


def import_status(import_id: int, who: Principal, uow: UnitOfWork) -> ImportView:
    """Where an import stands; only for a caller who may use its source."""
    with uow:
        demand(uow, who, Action.LISTS_IMPORT, "import", import_id)
        imp = uow.intake.get_import(import_id)
        if imp is None:
            if who.role is Role.COORDINATOR:
                raise NotFound(f"no import {import_id}")
            raise refuse(
                uow, who, "list.import.view", "import", import_id, "not an import of yours"
            )
        src = owned_source(uow, who, imp.source_id, "list.import.view")
        return _import_view(imp, src.name)


def fail_import(import_id: int, message: str, uow: UnitOfWork, who: Principal = SYSTEM) -> None:
    """An import whose worker stopped on an error, marked failed.

    The message is kept with it and on the audit trail. The rows of the batches committed before
    stay; a re-run completes it.
    """
    message = message[:1000]
    with uow:
        imp = uow.intake.get_import(import_id)
        if imp is None:
            return
        if imp.status == "running":
            uow.intake.fail_import(
                import_id, [*(imp.warnings or []), f"The import stopped: {message}"], uow.now()
            )
        audit(
            uow,
            who,
            "list.import",
            "source",
            imp.source_id,
            outcome="failed",
            import_id=import_id,
            error=message,
        )
        uow.commit()


@dataclass(frozen=True)
class QuarantinedRow:
    """A row of a list that could not be registered as it stood, waiting for a correction."""

    id: int
    import_id: int
    sheet: str
    row_number: int
    hidden: bool
    values: dict[str, str]  # header -> the cell as read (or as last corrected)
    errors: list[dict[str, str]]  # field, message


@dataclass(frozen=True)
class QuarantineView:
    """The quarantine of one source: its rows waiting for a correction, and its mapping."""

    source_id: int
    source_name: str
    mapping: dict[str, str | None]  # the source's remembered mapping: header -> field
    rows: list[QuarantinedRow]


def quarantine(source_id: int, who: Principal, uow: UnitOfWork) -> QuarantineView:
    """Every row of the source waiting for a correction, with its reasons and original cells."""
    with uow:
        src = owned_source(uow, who, source_id, "quarantine.view")
        rows = [
            QuarantinedRow(
                r.id,
                r.import_id,
                r.sheet,
                r.row_number,
                r.hidden,
                {str(k): "" if v is None else str(v) for k, v in (r.values or {}).items()},
                list(r.errors or []),
            )
            for r in uow.intake.quarantined(source_id)
        ]
        audit(uow, who, "quarantine.view", "source", source_id, rows=[r.id for r in rows])
        uow.commit()
        return QuarantineView(src.id, src.name, dict(src.mapping or {}), rows)


@dataclass(frozen=True)
class Resubmitted:
    """A quarantined row submitted again, and the person it registered or linked."""

    person_id: int
    status: RowStatus  # imported (registered now) or matched (already registered: linked)
    source_id: int
    row_number: int


def resubmit_row(
    row_id: int, values: dict[str, str], who: Principal, uow: UnitOfWork
) -> Resubmitted:
    """A quarantined row with corrected cells, checked again with the source's mapping.

    The person is registered (or linked, if their document is registered already) and the row
    marked resolved; InvalidInput with the remaining reasons otherwise. Nothing is deleted.

    Raises:
        InvalidInput: when the corrected row still names nobody who can be registered, names
            another organisation than the sponsor's, or is about the same person as another
            row of the source.
        Conflict: when the row is no longer in quarantine.
        NotFound: for a coordinator, when there is no such row.
        AccessDenied: when the row or its source is not the caller's.
    """
    with uow:
        demand(uow, who, Action.LISTS_IMPORT, "source_row", row_id)
        row = uow.intake.row(row_id)
        if row is None:
            if who.role is Role.COORDINATOR:
                raise NotFound(f"no row {row_id}")
            raise refuse(uow, who, "row.resubmit", "source_row", row_id, "not a row of yours")
        src = owned_source(uow, who, row.source_id, "row.resubmit")
        if row.status != RowStatus.QUARANTINED or not row.current:
            raise Conflict(f"row {row.row_number} is no longer in quarantine: it is {row.status}")
        cells = {str(h): str(values.get(h, "")).strip() for h in (row.values or {})}
        targets = targets_of(dict(src.mapping or {}))
        defaults = SourceDefaults(src.sponsoring_nation, src.sponsor_org, src.category)
        m = map_row(cells, targets, defaults, uow.now().date())
        if m.person is None:
            raise InvalidInput(m.errors or [FieldError("", "the row still names nobody")])
        p = m.person
        if not may_write(who, PersonScope(p.sponsoring_nation, p.sponsor_org)):
            raise InvalidInput(
                f"the row names {p.sponsor_org!r}; you register people for {who.org!r} only",
                field="sponsor_org",
            )
        key = row_key(cells, targets, m)
        twin = uow.intake.twin_row(src.id, key, row.id)
        if twin is not None:
            raise InvalidInput(
                f"row {twin.row_number} of import {twin.import_id} of this source is about the "
                "same person (same list number, document, or names and birth date); "
                "correct one of them"
            )
        now = uow.now()
        known = uow.intake.persons_by_documents([d.number for d in p.documents])
        existing = person_match(known, p)
        if existing is not None:
            pid, status = existing, RowStatus.MATCHED
        else:
            pid, status = uow.people.add(p, now), RowStatus.IMPORTED
            uow.history.add(
                "person",
                pid,
                now,
                who.username,
                "registered after correction",
                {"source": [None, f"{src.name}, row {row.row_number} after correction"]},
            )
        uow.intake.resolve_row(row.id, pid, cells, row_fingerprint(cells, targets), key, status)
        audit(
            uow,
            who,
            "row.resubmit",
            "source_row",
            row.id,
            source_id=src.id,
            person_id=pid,
            status=status,
        )
        uow.commit()
        return Resubmitted(pid, status, src.id, row.row_number)
