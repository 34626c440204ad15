"""A caller without the right is refused (and the refusal audited) before their input is read:
a bad form from the wrong role is an access question, not a typing mistake to correct."""

from __future__ import annotations

from typing import Any

import pytest

from safepassage.domain.errors import AccessDenied
from safepassage.services import callforward, planning_config, stations
from tests.integration.conftest import World, csrf_of


def _denied(world: World, action: str) -> list[str]:
    with world.system.uow(readonly=True) as uow:
        rows = uow.audit.recent(20, outcome="denied")
    return [r.username for r in rows if r.action == action]


def test_a_gate_operator_adding_a_broken_station_is_refused_not_corrected(world: World) -> None:
    broken = stations.StationInput(code="", name="", kind="no such kind", position=-1)
    with pytest.raises(AccessDenied):
        stations.add_station(broken, world.who["station"], world.system.uow())
    assert _denied(world, "stations.configure") == ["station.user"]


def test_a_viewer_setting_an_impossible_capacity_is_refused_not_corrected(world: World) -> None:
    with pytest.raises(AccessDenied):
        planning_config.set_station_capacity(1, 0, world.who["viewer"], world.system.uow())
    assert _denied(world, "stations.configure") == ["viewer.user"]


def test_a_sponsor_deferring_without_a_reason_is_refused_not_corrected(world: World) -> None:
    with pytest.raises(AccessDenied):
        callforward.defer_household(
            world.us_household, " ", world.who["sponsor"], world.system.uow()
        )
    assert _denied(world, "pass.issue") == ["sponsor.user"]


def test_the_stations_page_refuses_a_gate_operator_before_reading_the_order(
    world: World, client_as: Any
) -> None:
    form = {"code": "DOC2", "name": "Documents 2", "kind": "documents", "position": "second"}
    gate = client_as("station")
    r = gate.post("/stations", data={**form, "csrf_token": csrf_of(gate)})
    assert r.status_code == 403
    assert _denied(world, "stations.configure") == ["station.user"]
    coordinator = client_as("coordinator")
    r = coordinator.post("/stations", data={**form, "csrf_token": csrf_of(coordinator)})
    assert r.status_code == 422 and "the order is a number" in r.text
