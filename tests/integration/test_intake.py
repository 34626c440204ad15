"""Lists in, on SQLite and PostgreSQL: every row accounted for, nothing created twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.engine import READONLY
from safepassage.domain.errors import AccessDenied
from safepassage.services import intake, people
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World

HEADER = "ID;Name;Father's Name;Surname;Gender;DOB;Nationality;Tazkira No;Mobile;Family ID;Relation"
ROWS = [
    "A1;Ahmad;Ghulam;Karimi;Male;1370/05/12;Afghan;1399-7777-1111;0701234567;F1;Principal",
    "A2;Zahra;Abdul Wahid;Karimi;Female;1992;Afghan;1400-2222-3333;;F1;Wife",
    "A3;Omar;Ahmad;Karimi;M;2015-03-01;Afghan;;;F1;Son",
    "A4;;Ahmad;Karimi;M;2030-01-01;Atlantis;;12;F2;Son",
]


def csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode()


def _count(world: World, table: sa.Table) -> int:
    # a read-only transaction: on SQLite it must not queue behind the importer's write lock
    with world.system.engine.connect().execution_options(**{READONLY: True}) as c:
        return int(c.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _source(world: World, who: str = "coordinator") -> int:
    return intake.save_source(
        intake.SourceInput("German embassy", "RU", None, "at_risk_staff"),
        world.who[who],
        world.system.uow(),
    )


def _import(
    world: World, data: bytes, sid: int, name: str = "list.csv", **kw: object
) -> intake.ImportReport:
    pre = intake.preview(data, name, sid, SYSTEM, world.system.uow())
    return intake.run_import(  # as `safepassage import` does: the file the preview read
        data,
        name,
        sid,
        pre.mapping,
        SYSTEM,
        world.system.uow,
        read=pre.file,
        **kw,  # type: ignore[arg-type]
    )


def test_every_row_is_accounted_for_and_bad_rows_are_quarantined_with_reasons(world: World) -> None:
    before = _count(world, t.person)
    r = _import(world, csv(*ROWS), _source(world))
    assert r.counts["imported"] == 3 and r.counts["quarantined"] == 1 and r.adds_up
    assert _count(world, t.person) == before + 3
    with world.system.uow() as uow:
        (bad,) = uow.intake.quarantined(1)
    fields = {e["field"] for e in bad.errors}
    assert {"given_name", "date_of_birth", "nationalities", "phone"} <= fields
    assert bad.values["Nationality"] == "Atlantis" and bad.row_number == 5
    assert r.households == 1  # F1: Ahmad, his wife and son fly together


def test_reimporting_the_same_list_creates_nothing(world: World) -> None:
    sid = _source(world)
    _import(world, csv(*ROWS), sid)
    before = (_count(world, t.person), _count(world, t.household))
    again = _import(world, csv(*ROWS), sid)
    assert again.counts["unchanged"] == 3 and again.counts["quarantined"] == 1
    assert (_count(world, t.person), _count(world, t.household)) == before


def test_a_newer_version_updates_changed_rows_with_history_and_adds_new_ones(world: World) -> None:
    sid = _source(world)
    _import(world, csv(*ROWS[:3]), sid)
    newer = [
        ROWS[0].replace("0701234567", "0709876543"),
        ROWS[1],
        ROWS[2],
        "A5;Maryam;Ahmad;Karimi;F;2021-01-10;Afghan;;;F1;Daughter",
    ]
    r = _import(world, csv(*newer), sid)
    assert (r.counts["updated"], r.counts["unchanged"], r.counts["imported"]) == (1, 2, 1)
    found = people.search_people("Ahmad Karimi", people.PeopleFilter(), SYSTEM, world.system.uow())
    ahmad = next(p for p in found.people if p.given_name == "Ahmad")
    assert ahmad.phone == "+93709876543"
    history = people.get_person(ahmad.id or 0, SYSTEM, world.system.uow()).history
    assert history[0]["changes"]["phone"] == ["+93701234567", "+93709876543"]


def test_a_person_already_registered_by_document_is_matched_not_duplicated(world: World) -> None:
    row = "B1;Muhammad;Abdul Rahman;Karimi;M;1991;Afghan;;;;"
    data = (
        "ID;Name;Father's Name;Surname;Gender;DOB;Nationality;Tazkira No;Mobile;Family ID;"
        "Relation;Passport No;Passport Country\n" + row + ";P1234567;AF"
    ).encode()
    r = _import(world, data, _source(world))
    assert r.counts["matched"] == 1 and r.counts["imported"] == 0
    with world.system.uow() as uow:
        (rec,) = uow.intake.rows_of_import(r.import_id)
    assert rec.person_id == world.ru_person


def test_hidden_rows_and_sheets_are_shown_first_and_can_be_left_out(
    world: World, tmp_path: Path
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Applicants"
    ws.append(["Name", "Father Name", "DOB"])
    for name in ("Bilal", "Farid", "Jawad", "Karim", "Omar", "Tamim"):
        ws.append([name, "Ahmad", "1990"])
    ws.row_dimensions[5].hidden = True
    old = wb.create_sheet("Old")
    old.append(["Name", "Father Name", "DOB"])
    old.append(["Secret", "Someone", "1980"])
    old.sheet_state = "hidden"
    path = tmp_path / "list.xlsx"
    wb.save(path)
    data = path.read_bytes()
    sid = _source(world)
    pre = intake.preview(data, "list.xlsx", sid, SYSTEM, world.system.uow())
    assert pre.hidden_rows == 2 and pre.hidden_sheets == ["Old"]
    assert any("hidden" in w for w in pre.file.warnings)
    r = intake.run_import(
        data, "list.xlsx", sid, pre.mapping, SYSTEM, world.system.uow, include_hidden=False
    )
    assert (r.counts["imported"], r.counts["excluded"], r.rows) == (5, 2, 7) and r.adds_up


def test_a_person_the_list_said_before_but_never_registered_is_registered_when_taken_in(
    world: World, tmp_path: Path
) -> None:
    # the list's first row is hidden and left out, so its visible twin is quarantined as a repeat:
    # the list says the person, but nobody is registered for it
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Name", "Father Name", "DOB", "Passport No", "Nationality"])
    for _ in range(2):
        ws.append(["Bilal", "Ahmad", "1990", "P7654321", "AF"])
    ws.row_dimensions[2].hidden = True
    path = tmp_path / "list.xlsx"
    wb.save(path)
    data = path.read_bytes()
    sid = _source(world)
    first = _import(world, data, sid, "list.xlsx", include_hidden=False)
    assert (first.counts["excluded"], first.counts["quarantined"]) == (1, 1)
    # taken in whole the second time: the person is sealed by the importer, as the checker
    # left them unsealed (the list said the same before)
    again = _import(world, data, sid, "list.xlsx", include_hidden=True)
    assert again.counts["imported"] == 1 and again.adds_up
    with world.system.uow() as uow:
        rows = uow.intake.rows_of_import(again.import_id)
        person = uow.people.get(next(r.person_id for r in rows if r.status == "imported"))
    assert person is not None and person.given_name == "Bilal"
    assert [d.number for d in person.documents] == ["P7654321"]


def test_an_import_refuses_a_preview_of_other_bytes(world: World) -> None:
    sid = _source(world)
    pre = intake.preview(csv(*ROWS), "list.csv", sid, SYSTEM, world.system.uow())
    with pytest.raises(ValueError, match="the file read for the preview is not"):
        intake.run_import(
            csv(*ROWS[:2]), "list.csv", sid, pre.mapping, SYSTEM, world.system.uow, read=pre.file
        )
    assert _count(world, t.list_import) == 0


def test_the_mapping_confirmed_for_a_source_is_proposed_for_its_next_list(world: World) -> None:
    sid = _source(world)
    june = (HEADER + ";Roshan line\n" + ROWS[0] + ";0799123456").encode()
    pre = intake.preview(june, "june.csv", sid, SYSTEM, world.system.uow())
    assert pre.mapping["Mobile"] == "phone" and pre.mapping["Roshan line"] is None  # guessed
    confirmed = {**pre.mapping, "Mobile": None, "Roshan line": "phone"}  # the user knows better
    intake.run_import(june, "june.csv", sid, confirmed, SYSTEM, world.system.uow)
    july = "Remarks;Roshan line;" + HEADER + "\nnew;0799555444;" + ROWS[1]  # columns moved
    again = intake.preview(july.encode(), "july.csv", sid, SYSTEM, world.system.uow())
    assert again.mapping == {**confirmed, "Remarks": None}
    assert not again.problems
    other = intake.save_source(
        intake.SourceInput("Kabul NGO list", "RU"), SYSTEM, world.system.uow()
    )
    fresh = intake.preview(july.encode(), "july.csv", other, SYSTEM, world.system.uow())
    assert fresh.mapping["Mobile"] == "phone"  # another source's choice is not this one's
    intake.run_import(july.encode(), "july.csv", sid, again.mapping, SYSTEM, world.system.uow)
    found = people.search_people("Zahra Karimi", people.PeopleFilter(), SYSTEM, world.system.uow())
    assert [p.phone for p in found.people] == ["+93799555444"]


def test_a_person_repeated_far_down_the_file_is_quarantined_like_a_repeat_on_the_next_line(
    world: World,
) -> None:
    n = intake.BATCH + 1  # the repeat falls in the next batch
    lines = [f"X{i};Person{i};Father{i};Family{i % 89};M;1990;AF;;;;" for i in range(n)]
    data = csv(*lines, "X0;Someone;Else;Entirely;F;1985;AF;;;;")
    sid = _source(world)
    r = _import(world, data, sid)
    assert (r.counts["imported"], r.counts["quarantined"], r.counts["updated"]) == (n, 1, 0)
    with world.system.uow() as uow:
        (bad,) = uow.intake.quarantined(sid)
        first = uow.people.get(uow.intake.rows_of_import(r.import_id)[0].person_id)
    assert "repeats row 2" in bad.errors[-1]["message"]
    assert first is not None and first.father_name == "Father0"  # not overwritten by the repeat
    again = _import(world, data, sid)
    assert (again.counts["unchanged"], again.counts["quarantined"]) == (n, 1)
    with world.system.uow() as uow:
        assert len(uow.intake.quarantined(sid)) == 1  # the earlier repeat was retired


def test_a_liaison_cannot_import_into_another_nations_source(world: World) -> None:
    sid = intake.save_source(intake.SourceInput("US list", "US"), SYSTEM, world.system.uow())
    with pytest.raises(AccessDenied):
        intake.preview(csv(*ROWS), "l.csv", sid, world.who["liaison"], world.system.uow())
    own = intake.save_source(
        intake.SourceInput("RU list", "US"), world.who["liaison"], world.system.uow()
    )
    with world.system.uow() as uow:
        assert uow.intake.source(own).sponsoring_nation == "RU"  # a liaison's source is its own


def test_an_import_killed_half_way_leaves_whole_people_and_a_rerun_completes_it(
    world: World, tmp_path: Path
) -> None:
    n = 20000  # long enough that the kill lands mid-way even on a loaded machine
    lines = [f"X{i};Person{i};Father{i % 97};Family{i % 89};M;1990;AF;;;;" for i in range(n)]
    path = tmp_path / "big.csv"
    path.write_bytes(csv(*lines))
    sid = _source(world)
    with world.system.engine.connect() as c:  # people are sealed: told apart by id, not name
        first = int(c.scalar(sa.text("select coalesce(max(id), 0) from person")) or 0)
    url = world.system.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "SAFEPASSAGE_SECRET_KEY": "k" * 48}
    cmd = [
        sys.executable,
        "-m",
        "safepassage.cli",
        "import",
        str(path),
        "--source",
        "German embassy",
        "--yes",
        "--db",
        url,
    ]
    with open(tmp_path / "out.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while _count(world, t.source_row) == 0 and proc.poll() is None:
            assert time.monotonic() < deadline, "the import never committed a batch"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = _count(world, t.source_row)
    assert 0 < done < n, "killed too late to prove anything"
    assert done % intake.BATCH == 0  # whole batches only
    with world.system.engine.connect() as c:  # every person registered has its row on record
        orphans = c.scalar(
            sa.text(
                f"select count(*) from person p where p.id > {first} and not exists "
                "(select 1 from source_row r where r.person_id = p.id)"
            )
        )
    assert orphans == 0
    r = _import(world, path.read_bytes(), sid, "big.csv")
    assert r.counts["unchanged"] == done and r.counts["imported"] == n - done
    with world.system.engine.connect() as c:
        people_made = c.scalar(sa.text(f"select count(*) from person where id > {first}"))
        statuses = dict(
            c.execute(sa.text("select status, count(*) from list_import group by status")).all()
        )
    assert people_made == n and statuses == {"interrupted": 1, "done": 1}


def test_a_person_keeps_the_list_rows_it_came_from(world: World) -> None:
    sid = _source(world)
    _import(world, csv(*ROWS[:1]), sid, "first.csv")
    _import(world, csv(ROWS[0].replace("0701234567", "0709876543")), sid, "second.csv")
    found = people.search_people("Ahmad Karimi", people.PeopleFilter(), SYSTEM, world.system.uow())
    ahmad = next(p for p in found.people if p.given_name == "Ahmad")
    rows = people.get_person(ahmad.id or 0, SYSTEM, world.system.uow()).provenance
    assert [(r["source"], r["filename"], r["row_number"], r["status"]) for r in rows] == [
        ("German embassy", "second.csv", 2, "updated"),
        ("German embassy", "first.csv", 2, "imported"),
    ]
