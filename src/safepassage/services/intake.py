"""Lists in: sources, a preview that shows hidden content first, and imports that lose no row.

An import reads the whole file, then works through its rows in batches; each batch (its people
and the record of its rows) commits at once (``intake_batches``), so an import killed half-way
leaves whole people only. Every row is recorded with its source, sheet and number and one status
(``domain.row_status``: imported, updated, unchanged, matched, quarantined or excluded), so the
report's counts add up to the rows in the file. Re-importing the same file, a newer version of
it, or the rest of an interrupted import creates nothing twice: each row is known by who it is
about (the list's own id if mapped, else a document number, else names and birth date) and by a
fingerprint of what it says.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from safepassage.adapters.db.people_rows import Sealing
from safepassage.adapters.files import ListFile, Row, Sheet, read_list
from safepassage.domain.access import (
    Action,
    Principal,
    Role,
    may_use_source,
)
from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.domain.intake import Target, check_mapping, suggest_mapping
from safepassage.domain.people import Category
from safepassage.services.common import UnitOfWork, audit, demand, refuse
from safepassage.services.intake_batches import ImportRun, form_households, import_batch, no_counts
from safepassage.services.intake_check import RowChecker
from safepassage.services.intake_rows import SourceDefaults
from safepassage.services.uow import UnitOfWorkFactory

BATCH = 2000
PARALLEL_FROM_BYTES = 500_000
"""Files from this size have their rows checked in a second process (smaller ones are done
before it would have started)."""
Progress = Callable[[int, int], None]  # rows done, rows in all


@dataclass(frozen=True)
class SourceInput:
    """A source of lists as a coordinator, liaison or sponsor names it before importing from it."""

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
    """The source ``who`` may import from and review: a liaison's nation's, a sponsor's own.

    Raises:
        AccessDenied: for a source that is not theirs (or none), the refusal of ``action``
            recorded.
    """
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
    """A list as the user sees it before importing it, with the mapping of its columns proposed.

    Each header maps to what the source's earlier lists confirmed for it, else to a guess.
    Nothing is imported.
    """
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
    """A mapping of columns as the user confirmed it (header -> field name), as fields.

    Raises:
        InvalidInput: for a column mapped to a name that is not a field.
    """
    out: dict[str, Target | None] = {}
    for h, t in mapping.items():
        try:
            out[h] = Target(t) if t else None
        except ValueError as e:
            raise InvalidInput(f"column {h!r}: {t!r} is not a field", field="mapping") from e
    return out


@dataclass
class ImportReport:
    """What an import did: its rows, how many became what, its warnings and households formed."""

    import_id: int
    rows: int
    counts: dict[str, int] = field(default_factory=no_counts)  # rows by status
    warnings: list[str] = field(default_factory=list)
    households: int = 0

    @property
    def adds_up(self) -> bool:
        """Whether every row of the file has its status, as the counts must add up to the rows."""
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
    uows: UnitOfWorkFactory,
    include_hidden: bool = True,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    read: ListFile | None = None,
) -> ImportReport:
    """Import a list into the registry from ``source_id`` with the confirmed ``mapping``.

    It runs in transactions of its own (``uows``): the source checked, the import's record, each
    batch, the households, the end. ``on_start`` learns the import's number as soon as its record is
    committed; ``progress`` the rows done after each batch. ``read`` is the file as the preview read
    it from the same bytes, if the caller still has it: reading a hundred thousand rows again takes
    a second or two.

    Raises:
        ValueError: when ``read`` is not the file given.
        InvalidInput: when the mapping still lacks what an import needs.
        AccessDenied: when the source is not the user's.
    """
    if read is not None and (read.filename, read.sha256) != (filename, _sha256(data)):
        raise ValueError(f"the file read for the preview is not {filename!r} as given")
    targets = targets_of(mapping)
    problems = check_mapping(targets)
    if problems:
        raise InvalidInput(problems[0], field="mapping")
    with uows() as uow:
        src = owned_source(uow, who, source_id, "list.import")
    # a big file's rows are checked in a second process, started first so that it is ready
    # by the second batch
    with RowChecker(parallel=len(data) >= PARALLEL_FROM_BYTES) as checker:
        f = read or read_list(data, filename)  # outside any transaction: it takes seconds
        with _collector_aside():
            run = _start(uows, who, src, f, mapping, targets, include_hidden, on_start)
            report = ImportReport(run.import_id, f.row_count, run.counts, list(f.warnings))
            batches = _batches(f)

            def sealing() -> Sealing:  # the keys each batch is sealed with, asked for anew
                with uows(readonly=True) as uow:
                    return uow.intake.sealing(src.id)

            with uows(readonly=True) as uow:
                said = uow.intake.said(src.id)
            checked = checker.batches(
                [[_cells(r) for _, r in b] for b in batches],
                run.targets,
                run.defaults,
                run.today,
                sealing,
                said,
            )
            done = 0
            for batch, rows in zip(batches, checked, strict=True):
                import_batch(uows, run, batch, rows)
                done += len(batch)
                if progress:
                    progress(done, f.row_count)
            report.households = form_households(uows, who, run.import_id)
    with uows() as uow:
        uow.intake.finish_import(run.import_id, report.counts, uow.now())
        uow.commit()
    return report


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cells(row: Row) -> dict[str, str]:
    """What the row's record keeps: every cell, by header, and any beyond the header."""
    if not row.extra:
        return row.values
    return {**row.values, "(cells beyond the header)": " | ".join(row.extra)}


def _start(
    uows: UnitOfWorkFactory,
    who: Principal,
    src: Any,
    f: ListFile,
    mapping: dict[str, str | None],
    targets: dict[str, Target | None],
    include_hidden: bool,
    on_start: Callable[[int], None] | None,
) -> ImportRun:
    """The import's record, committed; imports of the source left running are interrupted."""
    with uows() as uow:
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
    return ImportRun(
        who,
        src,
        import_id,
        include_hidden,
        targets,
        SourceDefaults(src.sponsoring_nation, src.sponsor_org, src.category),
        today,
    )


@contextmanager
def _collector_aside() -> Iterator[None]:
    """Python's cyclic garbage collector, told to leave alone what exists now until the block ends.

    A parsed list of a hundred thousand rows is millions of objects that live as long as the import,
    and walking them again and again as it allocates cost a fifth of its time. In a server, whose
    start-up objects are frozen already (``web.app.app_to_serve``), all is frozen again at the end,
    as ``gc.unfreeze`` thaws those too: what the import leaves is still freed when nothing refers to
    it, though a reference cycle among it would stay.
    """
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if frozen_before:
            gc.freeze()


def find_source(name: str, uow: UnitOfWork) -> int:
    """The number of the source named ``name``, for importing from the command line.

    Raises:
        NotFound: when no source has that name.
    """
    with uow:
        src = uow.intake.source_by_name(name)
        if src is None:
            raise NotFound(f"no source named {name!r}; create it first")
        return int(src.id)
