"""Lists in: sources, a preview that shows hidden content first, and imports that lose no row.

An import reads the whole file, then works through its rows in batches; each batch (its people
and the record of its rows) commits at once, so an import killed half-way leaves whole people
only. Every row is recorded with its source, sheet and number and one status:

    imported     a new person was registered from it
    updated      it changed what the source said before about this person (history kept)
    unchanged    the source said exactly this before: nothing was created
    matched      the person is already registered (same passport or national ID): linked
    quarantined  it cannot be registered as it stands; the reasons and the original cells are kept
    excluded     it was hidden in the file and the user chose not to import hidden content

so the report's counts add up to the rows in the file. Re-importing the same file, a newer
version of it, or the rest of an interrupted import creates nothing twice: each row is known by
who it is about (the list's own id if mapped, else a document number, else names and birth date)
and by a fingerprint of what it says.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from safepassage.adapters.db.people_rows import PersonRows
from safepassage.adapters.files import ListFile, Row, Sheet, read_list
from safepassage.bootstrap import System
from safepassage.domain.access import (
    Action,
    Principal,
    Role,
    may_use_source,
)
from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.domain.intake import Target, check_mapping, suggest_mapping
from safepassage.domain.people import Category, DocumentKind, Person
from safepassage.services.common import UnitOfWork, audit, demand, refuse
from safepassage.services.intake_check import CheckedRow, RowChecker
from safepassage.services.intake_rows import SourceDefaults, map_row

# the intake pages take these two from here
from safepassage.services.intake_rows import row_fingerprint as row_fingerprint
from safepassage.services.intake_rows import row_key as row_key
from safepassage.services.people import changes_between

BATCH = 2000
PARALLEL_FROM_BYTES = 500_000
"""Files from this size have their rows checked in a second process (smaller ones are done
before it would have started)."""
Progress = Callable[[int, int], None]  # rows done, rows in all
STATUSES = ("imported", "updated", "unchanged", "matched", "quarantined", "excluded")
MATCHED_BY = (DocumentKind.PASSPORT.value, DocumentKind.NATIONAL_ID.value)
"""The documents by which a row is linked to a person already registered."""


@dataclass(frozen=True)
class SourceInput:
    name: str
    sponsoring_nation: str | None = None
    sponsor_org: str | None = None
    category: str = "other"


def save_source(cmd: SourceInput, who: Principal, uow: UnitOfWork) -> int:
    """A named source of lists; a liaison's are its nation's, a sponsor's its organisation's."""
    with uow:
        demand(uow, who, Action.LISTS_IMPORT, "source")
        errors: list[FieldError] = []
        name = " ".join((cmd.name or "").split())
        if not name:
            errors.append(FieldError("name", "name the source, e.g. 'German embassy list'"))
        nation, org = cmd.sponsoring_nation or None, (cmd.sponsor_org or "").strip() or None
        if who.role is Role.LIAISON:
            nation = who.nation
        if who.role is Role.SPONSOR:
            org = who.org
        if nation:
            try:
                nation = alpha2(nation, "sponsoring_nation")
                if uow.nations.get(nation) is None:
                    errors.append(
                        FieldError("sponsoring_nation", f"{nation} is not in the operation")
                    )
            except InvalidInput as e:
                errors.extend(e.errors)
        try:
            category = Category(cmd.category or "other").value
        except ValueError:
            errors.append(FieldError("category", f"{cmd.category!r} is not a category"))
            category = "other"
        check(errors)
        if uow.intake.source_by_name(name):
            raise InvalidInput(f"a source named {name!r} exists already", field="name")
        sid = uow.intake.add_source(
            name=name,
            sponsoring_nation=nation,
            sponsor_org=org,
            category=category,
            mapping={},
            created_by=who.username,
            created_at=uow.now(),
        )
        audit(uow, who, "source.create", "source", sid, name=name)
        uow.commit()
        return sid


def owned_source(uow: UnitOfWork, who: Principal, source_id: int, action: str) -> Any:
    demand(uow, who, Action.LISTS_IMPORT, "source", source_id)
    src = uow.intake.source(source_id)
    if src is None or not may_use_source(who, src.sponsoring_nation, src.sponsor_org):
        raise refuse(uow, who, action, "source", source_id, "this source is not yours")
    return src


@dataclass(frozen=True)
class Preview:
    """What the user sees before anything is imported."""

    file: ListFile
    mapping: dict[str, str | None]  # header -> target, remembered or suggested
    problems: list[str]  # what the mapping still lacks
    hidden_rows: int
    hidden_sheets: list[str]


def preview(data: bytes, filename: str, source_id: int, who: Principal, uow: UnitOfWork) -> Preview:
    with uow:
        src = owned_source(uow, who, source_id, "list.preview")
    f = read_list(data, filename)  # outside any transaction: parsing a big file takes seconds
    with uow:
        headers = list(dict.fromkeys(h for s in f.sheets for h in s.header))
        remembered = {h: t for h, t in (src.mapping or {}).items() if h in headers}
        guessed = suggest_mapping([h for h in headers if h not in remembered])
        mapping = {h: remembered.get(h, guessed.get(h)) for h in headers}
        mapping = {h: (t.value if isinstance(t, Target) else t) for h, t in mapping.items()}
        audit(
            uow,
            who,
            "list.preview",
            "source",
            source_id,
            filename=filename,
            sha256=f.sha256,
            rows=f.row_count,
        )
        uow.commit()
        return Preview(
            f,
            mapping,
            check_mapping(targets_of(mapping)),
            sum(s.hidden_row_count for s in f.sheets),
            [s.name for s in f.sheets if s.state != "visible"],
        )


def targets_of(mapping: dict[str, str | None]) -> dict[str, Target | None]:
    out: dict[str, Target | None] = {}
    for h, t in mapping.items():
        try:
            out[h] = Target(t) if t else None
        except ValueError as e:
            raise InvalidInput(f"column {h!r}: {t!r} is not a field", field="mapping") from e
    return out


@dataclass
class ImportReport:
    import_id: int
    rows: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    warnings: list[str] = field(default_factory=list)
    households: int = 0

    @property
    def adds_up(self) -> bool:
        return sum(self.counts.values()) == self.rows


def _batches(f: ListFile) -> list[list[tuple[Sheet, Row]]]:
    rows = [(s, r) for s in f.sheets for r in s.rows]
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def run_import(
    data: bytes,
    filename: str,
    source_id: int,
    mapping: dict[str, str | None],
    who: Principal,
    system: System,
    include_hidden: bool = True,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    read: ListFile | None = None,
) -> ImportReport:
    """Import a list into the registry from ``source_id`` with the confirmed ``mapping``;
    ``on_start`` learns the import's number as soon as its record is committed. ``read`` is the
    file as the preview read it from the same bytes, if the caller still has it: reading a
    hundred thousand rows again takes a second or two."""
    if read is not None and (read.filename, read.sha256) != (filename, _sha256(data)):
        raise ValueError(f"the file read for the preview is not {filename!r} as given")
    targets = targets_of(mapping)
    problems = check_mapping(targets)
    if problems:
        raise InvalidInput(problems[0], field="mapping")
    with system.uow() as uow:
        src = owned_source(uow, who, source_id, "list.import")
    # a big file's rows are checked in a second process, started first so that it is ready
    # by the second batch
    with RowChecker(parallel=len(data) >= PARALLEL_FROM_BYTES) as checker:
        f = read or read_list(data, filename)  # outside any transaction: it takes seconds
        with _collector_aside():
            run = _start(system, who, src, f, mapping, targets, include_hidden, on_start)
            batches = _batches(f)
            checked = checker.batches(
                [[_cells(r) for _, r in b] for b in batches], run.targets, run.defaults, run.today
            )
            done = 0
            for batch, rows in zip(batches, checked, strict=True):
                _import_batch(system, run, batch, rows)
                done += len(batch)
                if progress:
                    progress(done, f.row_count)
            run.report.households = _form_households(system, who, run.import_id)
    with system.uow() as uow:
        uow.intake.finish_import(run.import_id, run.report.counts, uow.now())
        uow.commit()
    return run.report


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cells(row: Row) -> dict[str, str]:
    """What the row's record keeps: every cell, by header, and any beyond the header."""
    if not row.extra:
        return row.values
    return {**row.values, "(cells beyond the header)": " | ".join(row.extra)}


def _start(
    system: System,
    who: Principal,
    src: Any,
    f: ListFile,
    mapping: dict[str, str | None],
    targets: dict[str, Target | None],
    include_hidden: bool,
    on_start: Callable[[int], None] | None,
) -> _Run:
    """The import's record, committed; imports of the source left running are interrupted."""
    with system.uow() as uow:
        uow.intake.interrupt_running(src.id)
        uow.intake.remember_mapping(src.id, {h: t for h, t in mapping.items()})
        import_id = uow.intake.start_import(
            source_id=src.id,
            filename=f.filename,
            sha256=f.sha256,
            status="running",
            rows_total=f.row_count,
            counts={},
            warnings=f.warnings,
            started_by=who.username,
            started_at=uow.now(),
        )
        audit(
            uow,
            who,
            "list.import",
            "source",
            src.id,
            import_id=import_id,
            filename=f.filename,
            sha256=f.sha256,
            rows=f.row_count,
        )
        today = uow.now().date()
        uow.commit()
    if on_start:
        on_start(import_id)
    return _Run(
        who,
        src,
        import_id,
        include_hidden,
        targets,
        SourceDefaults(src.sponsoring_nation, src.sponsor_org, src.category),
        today,
        ImportReport(import_id, f.row_count, warnings=list(f.warnings)),
    )


@contextmanager
def _collector_aside() -> Iterator[None]:
    """Python's cyclic garbage collector, told to leave alone what exists now until the block
    ends: a parsed list of a hundred thousand rows is millions of objects that live as long as
    the import, and walking them again and again as it allocates cost a fifth of its time.
    In a server, whose start-up objects are frozen already (``web.app.app_to_serve``), all is
    frozen again at the end, as ``gc.unfreeze`` thaws those too: what the import leaves is still
    freed when nothing refers to it, though a reference cycle among it would stay."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if frozen_before:
            gc.freeze()


@dataclass
class _Run:
    """What the batches of one import share."""

    who: Principal
    src: Any
    import_id: int
    include_hidden: bool
    targets: dict[str, Target | None]
    defaults: SourceDefaults
    today: dt.date
    report: ImportReport
    seen: dict[str, int] = field(default_factory=dict)  # row key -> its first row in the file


def _import_batch(
    system: System, run: _Run, batch: list[tuple[Sheet, Row]], checked: list[CheckedRow]
) -> None:
    """One batch, in one transaction: its new people and the record of every row."""
    with system.uow() as uow:
        uow.intake.refresh_statistics()  # the tables grow as the import goes
        # what the source said before about each key (the first row is the main one)
        current = uow.intake.current_rows(run.src.id, [c.key for c in checked])
        registered = {key: rows[0].person_id for key, rows in current.items()}
        known = uow.intake.persons_by_documents(
            [
                number
                for c in checked
                if c.person and registered.get(c.key) is None  # they may be registered already
                for kind, number, _, _ in c.person.documents
                if kind in MATCHED_BY
            ]
        )
        new_people: list[tuple[int, PersonRows]] = []
        records: list[dict[str, Any]] = []
        retire: list[int] = []
        for i, ((sheet, row), c) in enumerate(zip(batch, checked, strict=True)):
            hidden = row.hidden or sheet.state != "visible"
            errors = list(c.errors)
            said = current.get(c.key, [])
            person_id = registered.get(c.key)
            repeats = run.seen.get(c.key)
            if hidden and not run.include_hidden:
                status = "excluded"
            elif repeats is not None:
                status = "quarantined"
                errors.append(
                    {
                        "field": "",
                        "message": f"repeats row {repeats} of this file "
                        "(same person); correct one of them",
                    }
                )
            elif c.person is None:
                status = "quarantined"
            elif person_id is not None and said[0].fingerprint == c.fingerprint:
                status = "unchanged"
            elif person_id is not None:
                status = "updated"
                person = map_row(row.values, run.targets, run.defaults, run.today).person
                assert person is not None  # the same row, checked again
                _update(uow, run.who, person_id, person, run.src.name, row.number)
            else:
                existing = _match(known, c.person.documents)
                if existing is not None:
                    status, person_id = "matched", existing
                else:
                    status = "imported"
                    new_people.append((i, c.person))
            run.seen.setdefault(c.key, row.number)
            if status != "excluded":  # what this row says supersedes what earlier lists said
                retire += [r.id for r in said if r.import_id != run.import_id]
            records.append(
                {
                    "source_id": run.src.id,
                    "import_id": run.import_id,
                    "sheet": sheet.name,
                    "row_number": row.number,
                    "row_key": c.key,
                    "fingerprint": c.fingerprint,
                    "values": c.cells_json,
                    "hidden": hidden,
                    "status": status,
                    "errors": errors,
                    "person_id": person_id,
                    "household_key": c.household_key,
                    "relationship": c.relationship,
                    "current": status != "excluded",
                }
            )
            run.report.counts[status] += 1
        ids = uow.people.add_rows([p for _, p in new_people], uow.now())
        for (i, _), pid in zip(new_people, ids, strict=True):
            records[i]["person_id"] = pid
        # no history row per person: the row record (source, file, sheet, row) is the provenance
        uow.intake.retire(retire)
        uow.intake.add_rows(records)
        uow.intake.set_counts(run.import_id, run.report.counts)
        uow.commit()


def match_document(known: dict[tuple[str, str, str | None], set[int]], p: Person) -> int | None:
    """An exact document match to a person already registered (one, not several)."""
    return _match(known, [(d.kind.value, d.number, d.issuing_country, None) for d in p.documents])


def _match(
    known: dict[tuple[str, str, str | None], set[int]],
    documents: Iterable[tuple[str, str, str | None, Any]],
) -> int | None:
    for kind, number, country, _ in documents:
        if kind in MATCHED_BY:
            found = known.get((kind, number, country), ())
            if len(found) == 1:
                return next(iter(found))
    return None


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


def _form_households(system: System, who: Principal, import_id: int) -> int:
    """Group the people of an import by the list's household key, in one transaction; people
    already in a household keep it. The head is the row marked head, else the first row."""
    with system.uow() as uow:
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


def find_source(name: str, uow: UnitOfWork) -> int:
    with uow:
        src = uow.intake.source_by_name(name)
        if src is None:
            raise NotFound(f"no source named {name!r}; create it first")
        return int(src.id)
