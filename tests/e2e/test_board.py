"""The live operations picture in Chromium: the board updates by itself when a household
boards a departure of the day."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from safepassage.bootstrap import build
from safepassage.config import load_settings
from safepassage.domain.pipeline import StationKind
from safepassage.services import flights, passes, processing, stations
from safepassage.services.common import SYSTEM
from tests.e2e.conftest import SeededOperation
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def test_the_board_shows_a_boarding_without_a_reload(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    system = build(load_settings(database_url=seeded_operation.database_url, demo=True))
    try:
        op = flights.get_operation(system.uow())
        now = dt.datetime.now(dt.UTC)
        later = now.astimezone(op.zone).replace(hour=23, minute=30, second=0, microsecond=0)
        fid = flights.create_flight(
            flights.FlightInput(
                "US",
                "C-17A",
                "RCH990",
                (later - dt.timedelta(hours=2)).isoformat(),
                later.isoformat(),
            ),
            SYSTEM,
            system.uow(),
        )
        page = log_in(open_page(), seeded_operation.coordinator)
        page.goto("/board")
        row = page.locator(f"#dep-{fid}")
        expect(row.locator("td.boarded")).to_have_text("0")
        by_kind = {s.kind: s.id for s in stations.ensure_default_stations(SYSTEM, system.uow())}
        with system.uow() as uow:
            (household,) = uow.processing.households_all_in("registered", 1)
        issued = passes.issue_pass(
            passes.IssuePass(
                household,
                by_kind[StationKind.GATE],
                now - dt.timedelta(hours=1),
                now + dt.timedelta(hours=5),
            ),
            SYSTEM,
            system.uow(),
            system.keys,
        )
        for kind in (
            StationKind.GATE,
            StationKind.DOCUMENTS,
            StationKind.SECURITY,
            StationKind.MEDICAL,
            StationKind.MANIFEST,
            StationKind.BOARDING,
        ):
            flight = fid if kind in (StationKind.MANIFEST, StationKind.BOARDING) else None
            answer = processing.scan(
                processing.ScanInput(
                    uuid.uuid4().hex, by_kind[kind], issued.code, flight_id=flight
                ),
                SYSTEM,
                system.scan_uow(),
                system.keys,
            )
            assert answer["ok"], (kind, answer)
        expect(row.locator("td.boarded")).to_have_text(str(issued.persons), timeout=20_000)
    finally:
        system.dispose()
