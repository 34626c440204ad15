"""The Protection page: who may see it, a shred refused without the password, and what every page
says once the registry is shredded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from tests.integration.conftest import PASSWORD, World, csrf_of


def _shred(c: Any, scope: str, typed: str, password: str) -> Any:
    return c.post(
        "/protection/shred",
        data={"scope": scope, "typed": typed, "password": password, "csrf_token": csrf_of(c)},
        follow_redirects=False,
    )


def _name(world: World) -> str:
    with world.system.uow(readonly=True) as u:
        op = u.operation.get()
    return op.name if op else ""


def test_only_coordinators_and_liaisons_reach_the_protection_page(client_as: Any) -> None:
    page = client_as("coordinator").get("/protection")
    assert page.status_code == 200
    assert "key file" in page.text and "Shred the keys" in page.text
    assert "in the database's own folder" not in page.text  # the tests keep it apart
    assert client_as("liaison").get("/protection").status_code == 200
    for role in ("station", "viewer", "sponsor"):
        assert client_as(role).get("/protection").status_code == 403, role


def test_a_shred_without_the_password_is_refused_and_on_record(
    client_as: Any, world: World
) -> None:
    c = client_as("coordinator")
    r = _shred(c, "*", _name(world), "not my password")
    assert r.status_code == 403
    with world.system.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.data_key)) > 0
        denied = conn.execute(
            sa.select(t.audit.c.action, t.audit.c.outcome).where(t.audit.c.action == "keys.shred")
        ).all()
    assert denied == [("keys.shred", "denied")]


def test_a_liaison_shreds_its_own_nations_lists_from_the_page(client_as: Any, world: World) -> None:
    c = client_as("liaison")
    assert _shred(c, "US", "US", PASSWORD).status_code == 403  # not its nation
    r = _shred(c, "RU", "RU", PASSWORD)
    assert r.status_code == 303
    page = c.get("/protection")
    assert "the lists of RU" in page.text and "liaison.user" in page.text


def test_once_shredded_the_pages_say_when_and_by_whom(client_as: Any, world: World) -> None:
    c = client_as("coordinator")
    wrong = _shred(c, "*", "yes", PASSWORD)
    assert wrong.status_code == 422 and "exactly to confirm" in wrong.text
    assert _shred(c, "*", _name(world), PASSWORD).status_code == 303
    page = c.get("/protection")
    assert "the whole registry" in page.text and "coordinator.user" in page.text
    person = c.get(f"/people/{world.ru_person}")
    assert person.status_code == 503
    assert "shredded on" in person.text and "by coordinator.user" in person.text
    api = c.get("/api/v1/people", headers={"accept": "application/json"})
    assert api.status_code in (401, 503)
