"""A departure's outputs on SQLite and PostgreSQL: the load sheet, the manifest CSV and the
PAXLST (read back by pydifact), scoped and audited."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from pydifact.segmentcollection import Interchange

from safepassage.adapters.db import tables as t
from safepassage.domain.access import Principal, Role
from safepassage.domain.errors import AccessDenied, InvalidInput
from safepassage.domain.pipeline import StationKind
from safepassage.services import flights, outputs
from safepassage.services.common import SYSTEM
from tests.ecc_helpers import Ecc, passport_family, walk_to_boarding
from tests.integration.conftest import World

pytestmark = pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
SADATS = [
    ("Nasir", "1985-03-14", "P7654321"),
    ("Mariam", "1988-06-01", "P7654322"),
    ("Omid", "2021-01-15", "P7654323"),  # under two at the departure: a lap infant
]


@pytest.fixture
def boarded(world: World) -> World:
    """The Sadats manifested and boarded on America's flight, boarding closed."""
    ecc = Ecc(world)
    hh, _ = passport_family(world.system.uow, "Sadat", SADATS)
    code = ecc.issue(hh).code
    walk_to_boarding(ecc, code, world.us_flight)
    assert ecc.scan(code, StationKind.BOARDING, flight_id=world.us_flight)["ok"]
    from safepassage.services import boarding

    boarding.close_boarding(world.us_flight, ecc.coord, world.system.uow())
    return world


def test_the_load_sheet_counts_souls_and_weighs_them_against_payload(boarded: World) -> None:
    sheet = outputs.load_sheet(boarded.us_flight, boarded.who["viewer"], boarded.system.uow())
    assert sheet.final and (sheet.souls.adults, sheet.souls.children, sheet.souls.lap_infants) == (
        2,
        0,
        1,
    )
    assert sheet.seats_taken == 2 and sheet.passenger_kg == 300
    assert (sheet.seats, sheet.payload_kg) == (134, 77519)  # a C-17A's


def test_the_manifest_csv_lists_everyone_on_board_and_the_export_is_audited(
    boarded: World,
) -> None:
    name, body = outputs.manifest_csv(
        boarded.us_flight, boarded.who["coordinator"], boarded.system.uow()
    )
    assert name.startswith("manifest-RCH871-") and body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["given_name"] for r in rows] == ["Nasir", "Mariam", "Omid"]
    assert [r["lap_infant"] for r in rows] == ["no", "no", "yes"]
    assert rows[0]["document_number"] == "P7654321" and rows[0]["boarded"] == "yes"
    with boarded.system.engine.connect() as c:
        detail = c.execute(
            sa.select(t.audit.c.detail).where(t.audit.c.action == "export.manifest")
        ).scalar_one()
    assert len(detail["persons"]) == 3


def test_the_paxlst_reads_back_with_every_passenger_and_right_counts(boarded: World) -> None:
    coordinator = boarded.who["coordinator"]
    with pytest.raises(InvalidInput, match="set the airport"):
        outputs.paxlst_message(boarded.us_flight, coordinator, boarded.system.uow())
    flights.save_site(
        "Al Udeid Air Base", "QA", 8000, SYSTEM, boarded.system.uow(), boarded.site, "OTBH"
    )
    name, message = outputs.paxlst_message(boarded.us_flight, coordinator, boarded.system.uow())
    assert name.endswith(".edi")
    segments = [(s.tag, s.elements) for s in Interchange.from_str(message).segments]
    passengers = [e for tag, e in segments if tag == "NAD" and e[0] == "FL"]
    assert [p[3] for p in passengers] == [
        ["SADAT", "NASIR"],
        ["SADAT", "MARIAM"],
        ["SADAT", "OMID"],
    ]
    assert [e for tag, e in segments if tag == "CNT"] == [[["42", "3"]]]
    assert int(segments[-1][1][0]) == len(segments)  # UNT counts UNH to UNT
    assert [e[1] for tag, e in segments if tag == "DOC"] == ["P7654321", "P7654322", "P7654323"]
    assert ["LOC", ["87", "OTBH"]] in [[tag, e] for tag, e in segments]


def test_exports_are_for_the_departures_nation_and_the_coordination_cell(boarded: World) -> None:
    us_liaison = Principal(0, "us.liaison", Role.LIAISON, "US", None, None, "test")
    outputs.manifest_csv(boarded.us_flight, us_liaison, boarded.system.uow())
    with pytest.raises(AccessDenied, match="manages RU's flights only"):
        outputs.manifest_csv(boarded.us_flight, boarded.who["liaison"], boarded.system.uow())
    with pytest.raises(AccessDenied):
        outputs.manifest_csv(boarded.us_flight, boarded.who["viewer"], boarded.system.uow())
    with pytest.raises(AccessDenied):
        outputs.paxlst_message(boarded.us_flight, boarded.who["sponsor"], boarded.system.uow())


def test_the_printed_manifest_reads_back_with_its_names_and_souls(boarded: World) -> None:
    from pypdf import PdfReader

    name, body = outputs.manifest_pdf(
        boarded.us_flight, boarded.who["coordinator"], boarded.system.uow()
    )
    assert name.endswith(".pdf") and body.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Manifest RCH871" in text
    assert "Souls on board: 3 (2 adults, 0 children, 1 lap infants)" in text
    for given in ("Nasir", "Mariam", "Omid"):
        assert given in text
    assert "P7654321" in text and "page 1/1" in text


def test_the_receiving_site_gets_who_arrives_with_their_needs(boarded: World) -> None:
    name, body = outputs.arrivals_csv(
        boarded.us_flight, boarded.who["coordinator"], boarded.system.uow()
    )
    assert name == "arrivals-Al-Udeid-Air-Base-RCH871.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(r["given_name"], r["lap_infant"]) for r in rows] == [
        ("Nasir", "no"),
        ("Mariam", "no"),
        ("Omid", "yes"),
    ]
    assert "document_number" not in rows[0]  # the site needs who and what care, not documents
    with boarded.system.engine.connect() as c:
        site = c.execute(
            sa.select(t.audit.c.detail).where(t.audit.c.action == "export.arrivals")
        ).scalar_one()["site"]
    assert site == "Al Udeid Air Base"
