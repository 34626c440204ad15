"""The intake pages, on SQLite and PostgreSQL: upload, preview (hidden content first), mapping,
import in the background with its progress, and the quarantine where a bad row is corrected."""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from safepassage.adapters.db import tables as t
from safepassage.adapters.upload_store import default_folder
from safepassage.domain.errors import InvalidInput
from safepassage.services import intake, intake_review
from safepassage.services.common import SYSTEM
from safepassage.web import uploads
from safepassage.web.app import create_app
from safepassage.web.routes import pages_lists
from tests.hooks import Hooks, hooked
from tests.integration.conftest import World, csrf_of

HEADER = "ID;Name;Father's Name;Surname;Gender;DOB;Nationality;Tazkira No"
GOOD = [
    "A1;Ahmad;Ghulam;Karimi;Male;1370/05/12;Afghan;1399-7777-1111",
    "A2;Zahra;Abdul Wahid;Karimi;Female;1992;Afghan;1400-2222-3333",
]
BAD = "A3;;Ahmad;Karimi;M;2030-01-01;Atlantis;"
LIST = "\n".join([HEADER, *GOOD, BAD]).encode()


@pytest.fixture(autouse=True)
def _private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploads kept between preview and import go to this test's own temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def hooks() -> Hooks:
    """Where the test makes the app's imports pause or fail (none unless the test says)."""
    return Hooks()


@pytest.fixture
def app(world: World, hooks: Hooks):  # type: ignore[no-untyped-def]
    """The web app on the world's database, its units of work applying the test's hooks."""
    return create_app(hooked(world.system, hooks))


class _Forms(HTMLParser):
    """The fields a browser would send for each form of a page, by the form's action."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._first = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = self.forms.setdefault(a.get("action", ""), {})
        elif self._form is None or ("name" not in a and tag != "option"):
            return
        elif tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self._form[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select, self._first = a["name"], ""
        elif tag == "option" and self._select:
            if not self._first:
                self._first = a.get("value", "")
                self._form.setdefault(self._select, self._first)
            if "selected" in a:
                self._form[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms(html: str) -> dict[str, dict[str, str]]:
    p = _Forms()
    p.feed(html)
    return p.forms


def source_id(world: World, name: str) -> int:
    with world.system.uow() as uow:
        src = uow.intake.source_by_name(name)
    assert src is not None
    return int(src.id)


def create_source(c: TestClient, world: World, name: str) -> int:
    r = c.post(
        "/lists/sources",
        data={"name": name, "category": "student", "csrf_token": csrf_of(c)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert name in c.get("/lists").text
    return source_id(world, name)


def upload(c: TestClient, sid: int, data: bytes, filename: str) -> Any:
    return c.post(
        "/lists/preview",
        data={"source_id": str(sid), "csrf_token": csrf_of(c)},
        files={"file": (filename, data, "application/octet-stream")},
    )


def wait_until_finished(c: TestClient, import_id: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        r = c.get(f"/lists/imports/{import_id}/progress", headers={"HX-Request": "true"})
        assert r.status_code == 200, r.text
        if "hx-trigger" not in r.text:
            return r.text
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)


def counts(html: str) -> dict[str, int]:
    return {
        s: int(n.replace(" ", "")) for s, n in re.findall(r'data-status="(\w+)">([\d ]+)<', html)
    }


def import_list(c: TestClient, sid: int, data: bytes, filename: str) -> tuple[int, str]:
    """Upload, accept the suggested mapping and the hidden-content choice, import, wait."""
    page = upload(c, sid, data, filename)
    assert page.status_code == 200, page.text
    r = c.post("/lists/import", data=forms(page.text)["/lists/import"], follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/lists/imports/(\d+)", r.headers["location"])
    assert m, r.headers["location"]
    return int(m.group(1)), wait_until_finished(c, int(m.group(1)))


def test_a_liaison_uploads_a_list_imports_it_and_corrects_the_bad_row(
    world: World, client_as: Any, hooks: Hooks
) -> None:
    go = threading.Event()
    # the import waits, its record committed, before its first batch, until the test has looked
    hooks.between("intake.start_import", lambda: go.wait(30))
    c = client_as("liaison")
    assert 'href="/lists"' in c.get("/").text  # the navigation leads there
    sid = create_source(c, world, "Russian embassy list")

    page = upload(c, sid, LIST, "embassy.csv")
    assert page.status_code == 200, page.text
    assert "Hidden content found" not in page.text and "Nothing has been imported yet" in page.text
    assert "Atlantis" in page.text  # the first rows are shown
    fields = forms(page.text)["/lists/import"]
    mapping = {fields[k]: fields["map_" + k[4:]] for k in fields if k.startswith("col_")}
    assert mapping["Name"] == "given_name" and mapping["Tazkira No"] == "national_id"
    assert "(keep, do not map)" in page.text
    assert fields["include_hidden"] == "on"  # nothing hidden: nothing to decide
    token = fields["token"]
    assert "/" not in token and str(default_folder()) not in page.text
    kept = default_folder() / token
    assert kept.stat().st_mode & 0o777 == 0o600
    assert default_folder().stat().st_mode & 0o777 == 0o700

    # a mapping without a name is sent back with the reason, nothing imported
    unnamed = {k: ("" if k.startswith("map_") else v) for k, v in fields.items()}
    r = c.post("/lists/import", data=unnamed)
    assert r.status_code == 422 and "no column gives the person&#39;s name" in r.text
    assert 'name="token" value="' + token in r.text

    r = c.post("/lists/import", data=fields, follow_redirects=False)
    assert r.status_code == 303
    import_id = int(r.headers["location"].rsplit("/", 1)[1])
    imp = c.get(r.headers["location"])
    assert imp.status_code == 200 and "embassy.csv" in imp.text and "liaison.user" in imp.text
    assert f'hx-get="/lists/imports/{import_id}/progress"' in imp.text
    assert 'hx-trigger="every 1s"' in imp.text and "0</b> of 3 rows done" in imp.text
    running = c.get(f"/lists/imports/{import_id}/progress", headers={"HX-Request": "true"})
    assert "<html" not in running.text and 'hx-trigger="every 1s"' in running.text
    twice = c.post("/lists/import", data=fields)  # a double click starts nothing more
    assert twice.status_code == 409 and "still being imported" in twice.text
    go.set()
    done = wait_until_finished(c, import_id)
    assert "hx-get" not in done  # polling stops once the import is done
    assert counts(done) == {
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "matched": 0,
        "quarantined": 1,
        "excluded": 0,
    }
    assert "The counts add up to the 3 rows of the file" in done and "<svg" in done
    assert f"/lists/sources/{sid}/quarantine" in done
    deadline = time.monotonic() + 10
    while kept.exists():  # deleted once imported
        assert time.monotonic() < deadline, "the upload was not deleted after the import"
        time.sleep(0.05)
    listing = c.get("/lists").text
    assert "embassy.csv" in listing and "1 in quarantine" in listing

    q = c.get(f"/lists/sources/{sid}/quarantine")
    assert q.status_code == 200
    assert "Row 4" in q.text and "Atlantis" in q.text
    assert "given name" in q.text and "nationalities" in q.text and "date of birth" in q.text
    with world.system.uow() as uow:
        (bad,) = uow.intake.quarantined(sid)
    row_form = forms(q.text)[f"/lists/rows/{bad.id}"]
    cells = {row_form[k]: k.replace("header_", "cell_") for k in row_form if "header_" in k}

    # a correction that leaves a reason is sent back with it, and the row stays
    row_form[cells["Name"]] = "Omar"
    r = c.post(f"/lists/rows/{bad.id}", data=row_form)
    assert r.status_code == 422 and "Still not registered" in r.text
    assert "nationalities" in r.text and 'value="Omar"' in r.text

    row_form[cells["DOB"]] = "2015-03-01"
    row_form[cells["Nationality"]] = "Afghan"
    r = c.post(f"/lists/rows/{bad.id}", data=row_form, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = c.get(r.headers["location"])
    assert "Row 4 is registered" in after.text and "No row waits for a correction" in after.text
    person = int(re.search(r'href="/people/(\d+)"', after.text).group(1))  # type: ignore[union-attr]
    record = c.get(f"/people/{person}").text
    assert "Omar" in record and "registered after correction" in record
    assert "Russian embassy list, row 4 after correction" in record
    with world.system.uow() as uow:
        row = uow.intake.row(bad.id)
        assert (row.status, row.person_id, row.values["Name"]) == ("imported", person, "Omar")
    with world.system.engine.connect() as conn:
        actions = set(conn.scalars(sa.select(t.audit.c.action)))
    assert {"list.preview", "list.import", "quarantine.view", "row.resubmit"} <= actions

    # importing the same file again creates nobody twice
    _, again = import_list(c, sid, LIST, "embassy.csv")
    assert counts(again)["unchanged"] == 2 and counts(again)["imported"] == 0


def _workbook_with_a_hidden_sheet() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Students"
    ws.append(["Name", "Father Name", "DOB", "Nationality"])
    for name in ("Bilal", "Farid"):
        ws.append([name, "Ahmad", "1999", "Afghan"])
    old = wb.create_sheet("Old list")
    old.append(["Name", "Father Name", "DOB", "Nationality"])
    old.append(["Secret", "Someone", "1980", "Afghan"])
    old.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_hidden_sheet_is_shown_first_and_left_out_unless_the_user_ticks_it(
    world: World, client_as: Any
) -> None:
    c = client_as("liaison")
    sid = create_source(c, world, "Kazan students")
    page = upload(c, sid, _workbook_with_a_hidden_sheet(), "students.xlsx")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Hidden content found" in text and "Old list" in text
    assert text.index("Hidden content found") < text.index("What the file holds")
    assert text.index("Hidden content found") < text.index('action="/lists/import"')
    assert "Secret" in text  # the hidden sheet's rows are shown too
    fields = forms(text)["/lists/import"]
    assert "include_hidden" not in fields  # not ticked: the user decides
    r = c.post("/lists/import", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    done = wait_until_finished(c, int(r.headers["location"].rsplit("/", 1)[1]))
    assert counts(done)["imported"] == 2 and counts(done)["excluded"] == 1
    assert "The counts add up to the 3 rows of the file" in done


def test_a_liaison_cannot_open_another_nations_source_and_a_viewer_no_list_page(
    world: World, client_as: Any
) -> None:
    us = intake.save_source(intake.SourceInput("US list", "US"), SYSTEM, world.system.uow())
    pre = intake.preview(LIST, "us.csv", us, SYSTEM, world.system.uow())
    report = intake.run_import(LIST, "us.csv", us, pre.mapping, SYSTEM, world.system.uow)
    with world.system.uow() as uow:
        (bad,) = uow.intake.quarantined(us)
    c = client_as("liaison")
    assert "US list" not in c.get("/lists").text
    assert c.get(f"/lists/sources/{us}/quarantine").status_code == 403
    assert c.get(f"/lists/imports/{report.import_id}").status_code == 403
    assert c.get(f"/lists/imports/{report.import_id}/progress").status_code == 403
    r = c.post(
        f"/lists/rows/{bad.id}",
        data={"header_0": "Name", "cell_0": "Omar", "csrf_token": csrf_of(c)},
    )
    assert r.status_code == 403
    assert upload(c, us, LIST, "us.csv").status_code == 403
    assert client_as("coordinator").get(f"/lists/sources/{us}/quarantine").status_code == 200
    viewer = client_as("viewer")
    assert viewer.get("/lists").status_code == 403
    assert 'href="/lists"' not in viewer.get("/").text


def test_an_upload_without_a_file_or_too_large_is_refused_with_a_clear_message(
    world: World, client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client_as("liaison")
    sid = create_source(c, world, "Russian embassy list")
    r = c.post("/lists/preview", data={"source_id": str(sid), "csrf_token": csrf_of(c)})
    assert r.status_code == 422 and "choose the list" in r.text
    monkeypatch.setattr(pages_lists, "MAX_BYTES", 100)
    r = upload(c, sid, LIST, "embassy.csv")
    assert r.status_code == 422 and "larger than the limit of 50 MB" in r.text
    r = c.post("/lists/import", data={"token": "../../etc/passwd", "csrf_token": csrf_of(c)})
    assert r.status_code == 422 and "upload it again" in r.text


def _gone(folder: Path, within: float = 10) -> bool:
    """Whether ``folder`` is empty within ``within`` seconds (an import deletes its upload as
    its last step, after the record says how it ended)."""
    deadline = time.monotonic() + within
    while any(folder.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_an_error_in_the_background_import_is_recorded_not_lost_and_its_upload_deleted(
    world: World, client_as: Any, hooks: Hooks
) -> None:
    def boom() -> None:
        raise RuntimeError("the disk is full")

    hooks.before("intake.add_rows", boom)  # the first batch cannot write the record of its rows
    c = client_as("liaison")
    sid = create_source(c, world, "Russian embassy list")
    import_id, done = import_list(c, sid, LIST, "embassy.csv")
    assert "Stopped on an error" in done and "the disk is full" in done
    with world.system.uow() as uow:
        imp = uow.intake.get_import(import_id)
        assert imp is not None and imp.status == "failed"
    with world.system.engine.connect() as conn:
        entry = conn.execute(
            sa.select(t.audit).where(
                t.audit.c.action == "list.import", t.audit.c.outcome == "failed"
            )
        ).one()
    assert "the disk is full" in entry.detail["error"] and entry.username == "liaison.user"
    assert _gone(default_folder())  # the page asks for the file again, not for the kept upload


def test_an_uploaded_list_lies_sealed_on_disk_its_names_and_file_name_unreadable(
    world: World, client_as: Any
) -> None:
    canary, filename = "Zarghunaqanary", "Haidariqanary family.csv"
    data = "\n".join([HEADER, f"A1;{canary};Ghulam;Karimi;Female;1990;Afghan;"]).encode()
    c = client_as("liaison")
    sid = create_source(c, world, "Russian embassy list")
    page = upload(c, sid, data, filename)
    assert page.status_code == 200 and canary in page.text
    token = forms(page.text)["/lists/import"]["token"]
    files = sorted(default_folder().iterdir())
    assert [p.name for p in files] == [token, f"{token}.meta"]
    disk = b"".join(p.read_bytes() for p in files)
    assert canary.encode() not in disk and b"Haidariqanary" not in disk
    assert b"liaison.user" not in disk
    r = c.post("/lists/import", data=forms(page.text)["/lists/import"], follow_redirects=False)
    assert r.status_code == 303, r.text
    done = wait_until_finished(c, int(r.headers["location"].rsplit("/", 1)[1]))
    assert counts(done)["imported"] == 1
    assert _gone(default_folder())


def test_an_upload_abandoned_for_four_hours_is_swept_when_the_web_app_starts(
    world: World,
) -> None:
    store = uploads.store(world.system)
    old = store.keep(uploads.Upload(LIST, "old.csv", 1), "liaison.user")
    new = store.keep(uploads.Upload(LIST, "new.csv", 1), "liaison.user")
    then = time.time() - uploads.KEEP_SECONDS - 60
    for name in (old, f"{old}.meta"):
        os.utime(default_folder() / name, (then, then))
    create_app(world.system)
    assert sorted(p.name for p in default_folder().iterdir()) == [new, f"{new}.meta"]
    assert store.kept(new, "liaison.user").filename == "new.csv"


def test_an_import_slow_to_start_sends_the_user_to_the_lists_with_a_notice(
    world: World, client_as: Any, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client_as("liaison")
    sid = create_source(c, world, "Russian embassy list")
    page = upload(c, sid, LIST, "embassy.csv")
    go = threading.Event()
    # the import is slow to get going: it waits once it has checked the source, before its record
    hooks.between("intake.source", lambda: go.wait(30))
    monkeypatch.setattr(pages_lists, "START_WAIT", 0.2)
    r = c.post("/lists/import", data=forms(page.text)["/lists/import"], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/lists?starting=1"
    assert "Your import is starting" in c.get(r.headers["location"]).text
    go.set()
    deadline = time.monotonic() + 30
    while True:
        with world.system.uow() as uow:
            (imp, *_) = uow.intake.imports(sid) or [None]
        if imp is not None and imp.status == "done":
            break
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)
    assert f"/lists/imports/{imp.id}" in c.get("/lists").text


def test_a_correction_never_registers_a_person_twice(world: World) -> None:
    sid = intake.save_source(intake.SourceInput("Twice", "RU"), SYSTEM, world.system.uow())
    data = "\n".join([HEADER, GOOD[0], GOOD[0]]).encode()
    pre = intake.preview(data, "twice.csv", sid, SYSTEM, world.system.uow())
    intake.run_import(data, "twice.csv", sid, pre.mapping, SYSTEM, world.system.uow)
    with world.system.uow() as uow:
        (bad,) = uow.intake.quarantined(sid)
        (first,) = [r for r in uow.intake.rows_of_import(bad.import_id) if r.id != bad.id]
    assert "repeats row 2" in bad.errors[0]["message"]
    with pytest.raises(InvalidInput, match="same person"):  # the same list number again
        intake_review.resubmit_row(bad.id, dict(bad.values), SYSTEM, world.system.uow())
    other = dict(bad.values, ID="A9")  # another number, but the same Tazkira: linked
    done = intake_review.resubmit_row(bad.id, other, SYSTEM, world.system.uow())
    assert (done.status, done.person_id) == ("matched", first.person_id)
    with world.system.uow() as uow:
        assert uow.intake.quarantined(sid) == []


def test_the_record_page_shows_the_list_rows_a_person_came_from(world, client_as) -> None:  # type: ignore[no-untyped-def]
    from safepassage.services import intake, people
    from safepassage.services.common import SYSTEM

    sid = intake.save_source(
        intake.SourceInput("Kabul office list", "RU"), SYSTEM, world.system.uow()
    )
    data = b"Name;Father Name;DOB\nFarid;Ghulam;1990\n"
    pre = intake.preview(data, "office.csv", sid, SYSTEM, world.system.uow())
    intake.run_import(data, "office.csv", sid, pre.mapping, SYSTEM, world.system.uow)
    found = people.search_people("Farid Ghulam", people.PeopleFilter(), SYSTEM, world.system.uow())
    html = client_as("liaison").get(f"/people/{found.people[0].id}").text
    assert "On lists" in html and "Kabul office list" in html and "office.csv" in html
