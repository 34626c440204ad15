"""The public sign-up page: households register themselves, get a receipt, and are self-declared
until confirmed; abuse is limited per address and forged forms are refused. Both databases."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.adapters.db import tables as t
from safepassage.domain.errors import InvalidInput
from safepassage.services import signup
from safepassage.services.people import DocumentInput, PersonInput
from safepassage.web.routes.pages_signup import SIGNUP_CSRF_COOKIE, SIGNUP_PER_HOUR
from tests.integration.conftest import World

HOUSEHOLD = {
    "given_name": "Gul",
    "father_name": "Wali",
    "family_name": "Ahmadzai",
    "sex": "F",
    "date_of_birth": "1369/02/22",
    "dob_calendar": "solar_hijri",
    "nationality": "Afghanistan",
    "phone": "0799 123 456",
    "doc_kind": "national_id",
    "doc_number": "1399-0102-34567",
    "category": "at_risk_staff",
    "m1_given_name": "Farid",
    "m1_father_name": "Nasir",
    "m1_sex": "M",
    "m1_date_of_birth": "1365",
    "m1_relationship": "spouse",
    "m2_given_name": "Maryam",
    "m2_sex": "F",
    "m2_date_of_birth": "1398/05/01",
    "m2_relationship": "child",
}
NAMES = ("Gul", "Wali", "Ahmadzai", "Farid", "Nasir", "Maryam")
CODE = re.compile(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b")


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    """A browser without an account (the test client's address is "testclient")."""
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def _token(client: TestClient, path: str = "/signup") -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m, f"no form token on {path}"
    return m.group(1)


def _sign_up(client: TestClient, data: dict[str, str]) -> Any:
    return client.post("/signup", data=data | {"csrf_token": _token(client)})


def _check(client: TestClient, code: str) -> Any:
    return client.post(
        "/signup/receipt", data={"code": code, "csrf_token": _token(client, "/signup/receipt")}
    )


def _counts(w: World) -> tuple[int, int, int]:
    with w.system.engine.connect() as c:
        return (
            c.scalar(sa.select(sa.func.count()).select_from(t.person)) or 0,
            c.scalar(sa.select(sa.func.count()).select_from(t.household)) or 0,
            c.scalar(sa.select(sa.func.count()).select_from(t.signup)) or 0,
        )


def _audit(w: World, action: str) -> list[Any]:
    with w.system.engine.connect() as c:
        return list(c.execute(sa.select(t.audit).where(t.audit.c.action == action)))


def _register(anon: TestClient) -> str:
    r = _sign_up(anon, HOUSEHOLD)
    assert r.status_code == 200, r.text
    m = CODE.search(r.text)
    assert m, "no receipt code on the page"
    return m.group(0)


def test_the_sign_up_page_is_small_has_no_script_or_image_and_is_linked_from_login(
    anon: TestClient, world: World
) -> None:
    page = anon.get("/signup")
    assert page.status_code == 200
    assert "<script" not in page.text and "<img" not in page.text
    assert len(page.content) < 40_000
    assert 'href="/static/app.css"' in page.text and 'lang="fa"' in page.text
    assert page.cookies.get(SIGNUP_CSRF_COOKIE)
    assert 'href="/signup"' in anon.get("/login").text


def test_a_household_registers_through_the_page_and_gets_a_receipt(
    anon: TestClient, world: World
) -> None:
    before = _counts(world)
    code = _register(anon)
    assert all(ch not in code for ch in "0O1I5S")
    assert _counts(world) == (before[0] + 3, before[1] + 1, before[2] + 1)
    with world.system.engine.connect() as c:
        row = c.execute(sa.select(t.signup)).one()
        members = c.execute(
            sa.select(t.person.c.given_name, t.person.c.relationship, t.person.c.sponsoring_nation)
            .where(t.person.c.household_id == row.household_id)
            .order_by(t.person.c.id)
        ).all()
        stored = " ".join(str(v) for r in c.execute(sa.select(t.signup)) for v in r)
    expected = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert row.receipt_hash == expected and row.persons == 3 and row.source == "testclient"
    assert code.replace("-", "") not in stored  # only the hash is kept
    assert [tuple(m) for m in members] == [
        ("Gul", "head", None),
        ("Farid", "spouse", None),
        ("Maryam", "child", None),
    ]
    (entry,) = _audit(world, "signup")
    assert entry.outcome == "ok" and entry.source == "testclient"
    assert entry.entity_id == str(row.household_id)


def test_its_people_are_self_declared_and_a_coordinator_finds_them(
    anon: TestClient, world: World, client_as: Any
) -> None:
    _register(anon)
    with world.system.engine.connect() as c:
        flags = dict(c.execute(sa.select(t.person.c.given_name, t.person.c.self_declared)).all())
    assert flags == {
        "Gul": True,
        "Farid": True,
        "Maryam": True,
        "Muhammad": False,
        "Zahra": False,
    }
    coordinator = client_as("coordinator")
    found = coordinator.get("/people", params={"q": "Ahmadzai"})
    assert found.status_code == 200 and "Gul" in found.text
    pid = re.search(r'href="/people/(\d+)"[^>]*>[^<]*Gul', found.text)
    assert pid, found.text
    page = coordinator.get(f"/people/{pid.group(1)}")
    assert "self-declared" in page.text and signup.HISTORY_ACTION in page.text
    other = coordinator.get(f"/people/{world.us_person}")
    assert "self-declared" not in other.text
    liaison = client_as("liaison")  # on no nation's list: a liaison does not see them
    assert "Gul" not in liaison.get("/people", params={"q": "Ahmadzai"}).text


def test_the_receipt_check_shows_the_count_and_status_and_no_names(
    anon: TestClient, world: World
) -> None:
    code = _register(anon)
    for typed in (code, code.lower().replace("-", " ")):
        r = _check(anon, typed)
        assert r.status_code == 200
        assert "3 persons" in r.text and "registered" in r.text
        assert "not yet confirmed" in r.text
        assert not [n for n in NAMES if n in r.text], "a receipt check must not show names"
    receipt_page = _sign_up(anon, HOUSEHOLD).text  # the receipt itself names nobody either
    assert not [n for n in NAMES if n in receipt_page.split("<main>")[1]]
    unknown = _check(anon, "AAAAA-BBBBB")
    assert unknown.status_code == 200 and "No household with this receipt" in unknown.text
    outcomes = [a.outcome for a in _audit(world, "signup.receipt")]
    assert outcomes == ["ok", "ok", "not_found"]


def test_a_receipt_shows_the_status_once_staff_have_moved_the_household_on(
    anon: TestClient, world: World
) -> None:
    code = _register(anon)
    with world.system.engine.begin() as c:  # names are sealed: found by reading them back
        names = dict(c.execute(sa.select(t.person.c.id, t.person.c.given_name)).all())
        c.execute(
            t.person.update()
            .where(t.person.c.id.in_([i for i, n in names.items() if n == "Maryam"]))
            .values(status="called_forward", self_declared=False)
        )
    status = signup.check_receipt(code, world.system.uow())
    assert status is not None
    assert status.status == "mixed" and status.statuses == {"registered": 2, "called_forward": 1}
    assert not status.confirmed
    r = _check(anon, code)
    assert "2 registered, 1 called forward" in r.text


def test_an_invalid_member_shows_the_error_beside_its_field_and_nothing_is_saved(
    anon: TestClient, world: World
) -> None:
    before = _counts(world)
    bad = HOUSEHOLD | {"m2_date_of_birth": "next year", "m3_father_name": "Karim"}
    r = _sign_up(anon, bad)
    assert r.status_code == 422
    assert _counts(world) == before
    field = re.search(
        r'<div class="field has-error">\s*<label for="f-m2_date_of_birth">.*?</div>', r.text, re.S
    )
    assert field and "is not a date" in field.group(0) and 'value="next year"' in field.group(0)
    missing = re.search(
        r'<div class="field has-error">\s*<label for="f-m3_given_name">.*?</div>', r.text, re.S
    )
    assert missing and "a given name is required" in missing.group(0)
    assert "member 3: a given name is required" in r.text  # in the summary at the top
    assert 'value="Ahmadzai"' in r.text and 'value="Karim"' in r.text  # what was typed is kept
    assert not _audit(world, "signup")


def test_a_head_without_a_phone_or_a_document_is_asked_for_one(
    anon: TestClient, world: World
) -> None:
    r = _sign_up(anon, HOUSEHOLD | {"phone": "", "doc_number": ""})
    assert r.status_code == 422 and "check that a receipt is yours" in r.text


def test_member_rows_left_empty_are_ignored_and_more_rows_can_be_shown(
    anon: TestClient, world: World
) -> None:
    more = _sign_up(anon, HOUSEHOLD | {"more": "1"})
    assert more.status_code == 200 and 'name="m12_given_name"' in more.text
    assert 'value="Maryam"' in more.text
    moved = {k.replace("m2_", "m5_"): v for k, v in HOUSEHOLD.items()}  # a gap in the rows
    before = _counts(world)
    assert _sign_up(anon, moved).status_code == 200
    assert _counts(world)[0] == before[0] + 3


def test_a_flood_of_25_sign_ups_from_one_address_is_refused_after_20_with_429_and_audited(
    anon: TestClient, world: World
) -> None:
    answers = [_sign_up(anon, HOUSEHOLD).status_code for _ in range(25)]
    assert answers == [200] * SIGNUP_PER_HOUR + [429] * (25 - SIGNUP_PER_HOUR)
    assert _counts(world)[2] == SIGNUP_PER_HOUR
    refusals = [a for a in _audit(world, "signup") if a.outcome == "denied"]
    assert len(refusals) == 5
    assert all(a.detail["reason"] == "throttled" and a.source == "testclient" for a in refusals)
    last = _sign_up(anon, HOUSEHOLD)
    assert "Too many registrations" in last.text and 'value="Ahmadzai"' in last.text


def test_receipt_checks_are_limited_per_address_too(anon: TestClient, world: World) -> None:
    answers = [_check(anon, "AAAAA-BBBBB").status_code for _ in range(SIGNUP_PER_HOUR + 2)]
    assert answers == [200] * SIGNUP_PER_HOUR + [429, 429]
    denied = [a for a in _audit(world, "signup.receipt") if a.outcome == "denied"]
    assert len(denied) == 2 and denied[0].detail["reason"] == "throttled"
    assert _sign_up(anon, HOUSEHOLD).status_code == 200  # sign-ups are counted apart


def test_a_forged_form_without_the_csrf_cookie_is_refused(app: FastAPI, world: World) -> None:
    before = _counts(world)
    with TestClient(app, base_url="https://testserver") as forger:
        r = forger.post("/signup", data=HOUSEHOLD | {"csrf_token": "x" * 32})
        assert r.status_code == 403
        r = forger.post("/signup/receipt", data={"code": "AAAAA-BBBBB"})
        assert r.status_code == 403
    assert _counts(world) == before
    reasons = [a.detail["reason"] for a in _audit(world, "signup") if a.outcome == "denied"]
    assert reasons == ["form token missing or wrong"]


def test_sending_the_same_form_again_does_not_register_the_household_twice(
    anon: TestClient, world: World
) -> None:
    data = HOUSEHOLD | {"csrf_token": _token(anon)}
    assert anon.post("/signup", data=data).status_code == 200
    again = anon.post("/signup", data=data)  # a reload of the receipt page
    assert again.status_code == 403 and "keep it" in again.text
    assert _counts(world)[2] == 1


def test_the_service_refuses_more_than_12_members_and_saves_nothing(world: World) -> None:
    head = PersonInput(
        given_name="Gul", phone="+93799123456", documents=[DocumentInput("national_id", "123")]
    )
    members = [(PersonInput(given_name=f"Child {i}"), "child") for i in range(13)]
    before = _counts(world)
    with pytest.raises(InvalidInput) as e:
        signup.register_household(head, members, "198.51.100.7", world.system.uow())
    assert "at most 12" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        signup.register_household(
            head, [(PersonInput(given_name="A"), "head")], "", world.system.uow()
        )
    assert e.value.errors[0].field == "members.1.relationship"
    assert _counts(world) == before
    receipt = signup.register_household(head, members[:12], "198.51.100.7", world.system.uow())
    assert receipt.persons == 13 and _counts(world)[0] == before[0] + 13
    assert signup.normalise_code(receipt.code) and CODE.fullmatch(receipt.code)
    assert signup.check_receipt("not a code", world.system.uow()) is None
