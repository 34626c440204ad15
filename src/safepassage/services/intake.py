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

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

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
from safepassage.linkage.names import normalise
from safepassage.services.common import UnitOfWork, audit, demand, refuse
from safepassage.services.intake_rows import MappedRow, SourceDefaults, map_row
from safepassage.services.people import changes_between

BATCH = 2000
Progress = Callable[[int, int], None]  # rows done, rows in all
STATUSES = ("imported", "updated", "unchanged", "matched", "quarantined", "excluded")


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


def _digest(*parts: object) -> str:
    return hashlib.sha256(
        json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()


def row_key(values: dict[str, str], mapping: dict[str, Target | None], m: MappedRow) -> str:
    """Who a row is about, within its source: the list's own id, a document, or names + birth."""
    if m.source_id:
        return _digest("id", m.source_id.strip().upper())
    p = m.person
    if p is not None:
        doc = p.passport() or next(iter(p.documents), None)
        if doc is not None:
            return _digest("doc", doc.kind.value, doc.number)
        return _digest(
            "who",
            normalise(p.given_name),
            normalise(p.father_name),
            normalise(p.family_name),
            p.date_of_birth.original if p.date_of_birth else "",
        )
    mapped = {t.value: values.get(h, "").strip() for h, t in mapping.items() if t}
    return _digest("raw", mapped)


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


def _rows(f: ListFile) -> Iterator[tuple[Sheet, Row]]:
    for s in f.sheets:
        for r in s.rows:
            yield s, r


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
) -> ImportReport:
    """Import a list into the registry from ``source_id`` with the confirmed ``mapping``;
    ``on_start`` learns the import's number as soon as its record is committed."""
    targets = targets_of(mapping)
    problems = check_mapping(targets)
    if problems:
        raise InvalidInput(problems[0], field="mapping")
    with system.uow() as uow:
        src = owned_source(uow, who, source_id, "list.import")
    f = read_list(data, filename)  # outside any transaction: parsing a big file takes seconds
    with system.uow() as uow:
        uow.intake.interrupt_running(source_id)
        uow.intake.remember_mapping(source_id, {h: t for h, t in mapping.items()})
        import_id = uow.intake.start_import(
            source_id=source_id,
            filename=filename,
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
            source_id,
            import_id=import_id,
            filename=filename,
            sha256=f.sha256,
            rows=f.row_count,
        )
        uow.commit()
        if on_start:
            on_start(import_id)
    defaults = SourceDefaults(src.sponsoring_nation, src.sponsor_org, src.category)
    report = ImportReport(import_id, f.row_count, warnings=list(f.warnings))
    batch: list[tuple[Sheet, Row]] = []
    done = 0
    for item in _rows(f):
        batch.append(item)
        if len(batch) == BATCH:
            _import_batch(
                system, who, src, import_id, batch, targets, defaults, include_hidden, report
            )
            done += len(batch)
            batch = []
            if progress:
                progress(done, f.row_count)
    if batch:
        _import_batch(system, who, src, import_id, batch, targets, defaults, include_hidden, report)
        done += len(batch)
        if progress:
            progress(done, f.row_count)
    report.households = _form_households(system, who, import_id)
    with system.uow() as uow:
        uow.intake.finish_import(import_id, report.counts, uow.now())
        uow.commit()
    return report


def _import_batch(
    system: System,
    who: Principal,
    src: Any,
    import_id: int,
    batch: list[tuple[Sheet, Row]],
    targets: dict[str, Target | None],
    defaults: SourceDefaults,
    include_hidden: bool,
    report: ImportReport,
) -> None:
    with system.uow() as uow:
        today = uow.now().date()
        mapped = [map_row(r.values, targets, defaults, today) for _, r in batch]
        keys = [row_key(r.values, targets, m) for (_, r), m in zip(batch, mapped, strict=True)]
        fingerprints = [row_fingerprint(r.values, targets) for _, r in batch]
        current = uow.intake.current_rows(src.id, keys)
        known = uow.intake.persons_by_documents(
            [d.number for m in mapped if m.person for d in m.person.documents]
        )
        seen: dict[str, int] = {}
        new_people: list[tuple[int, Person]] = []
        records: list[dict[str, Any]] = []
        retire: list[int] = []
        for i, ((sheet, row), m, key, fp) in enumerate(
            zip(batch, mapped, keys, fingerprints, strict=True)
        ):
            hidden = row.hidden or sheet.state != "visible"
            errors = [{"field": e.field, "message": e.message} for e in m.errors]
            before = current.get(key)
            person_id = before.person_id if before else None
            if hidden and not include_hidden:
                status = "excluded"
            elif key in seen:
                status = "quarantined"
                errors.append(
                    {
                        "field": "",
                        "message": f"repeats row {seen[key]} of this file "
                        "(same person); correct one of them",
                    }
                )
            elif m.person is None:
                status = "quarantined"
            elif before is not None and before.fingerprint == fp and person_id is not None:
                status = "unchanged"
            elif person_id is not None:
                status = "updated"
                _update(uow, who, person_id, m.person, src.name, row.number)
            else:
                existing = match_document(known, m.person)
                if existing is not None:
                    status, person_id = "matched", existing
                else:
                    status = "imported"
                    new_people.append((i, m.person))
            seen.setdefault(key, row.number)
            if before is not None and status != "excluded":
                retire.append(before.id)
            records.append(
                {
                    "source_id": src.id,
                    "import_id": import_id,
                    "sheet": sheet.name,
                    "row_number": row.number,
                    "row_key": key,
                    "fingerprint": fp,
                    "values": {
                        **row.values,
                        **(
                            {"(cells beyond the header)": " | ".join(row.extra)}
                            if row.extra
                            else {}
                        ),
                    },
                    "hidden": hidden,
                    "status": status,
                    "errors": errors,
                    "person_id": person_id,
                    "household_key": m.household_key,
                    "relationship": m.relationship,
                    "current": status != "excluded",
                }
            )
            report.counts[status] += 1
        ids = uow.people.add_many([p for _, p in new_people], uow.now())
        for (i, _), pid in zip(new_people, ids, strict=True):
            records[i]["person_id"] = pid
        # no history row per person: the row record (source, file, sheet, row) is the provenance
        uow.intake.retire(retire)
        uow.intake.add_rows(records)
        uow.intake.set_counts(import_id, report.counts)
        uow.commit()


def match_document(known: dict[tuple[str, str, str | None], set[int]], p: Person) -> int | None:
    """An exact document match to a person already registered (one, not several)."""
    for d in p.documents:
        if d.kind in (DocumentKind.PASSPORT, DocumentKind.NATIONAL_ID):
            found = known.get((d.kind.value, d.number, d.issuing_country), set())
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
        groups = uow.intake.household_keys(import_id)
        free = uow.people.without_household([pid for g in groups.values() for pid, _ in g])
        plans: list[list[tuple[int, str]]] = []
        for group in groups.values():
            pids = [pid for pid, _ in group]
            if not group or len(set(pids)) != len(pids) or not set(pids) <= free:
                continue
            head = next((pid for pid, rel in group if rel == "head"), pids[0])
            plans.append(
                [
                    (pid, "head" if pid == head else (rel if rel and rel != "head" else "other"))
                    for pid, rel in group
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


# -- the intake pages ------------------------------------------------------------------------------


def row_fingerprint(values: dict[str, str], targets: dict[str, Target | None]) -> str:
    """What a row says, as run_import fingerprints it: its mapped cells."""
    return _digest(sorted((tg.value, values.get(h, "")) for h, tg in targets.items() if tg))
