"""The PAXLST writer, read back by an independent EDIFACT parser (pydifact)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydifact.segmentcollection import Interchange

from safepassage.adapters.paxlst import Document, Flight, Passenger, paxlst, text

# pydifact warns that it has no segment dictionary for the syntax version it assumes; its parsing
# of the structure (segments, elements, components, escapes) is what these tests rely on
pytestmark = pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")

FLIGHT = Flight(
    "RCH871",
    "OAKB",
    dt.datetime(2021, 8, 22, 6, 0, tzinfo=dt.UTC),
    "OTBH",
    dt.datetime(2021, 8, 22, 9, 30, tzinfo=dt.UTC),
)
PASSENGERS = [
    Passenger(
        "Karimi",
        "Muhammad",
        "M",
        dt.date(1991, 8, 3),
        "AFG",
        "H0000012",
        Document("passport", "P1234567", "AFG", dt.date(2027, 1, 31)),
    ),
    Passenger("Karimi", "Zahra", "F", dt.date(2020, 12, 1), "AFG", "H0000012"),
    Passenger("O'Neil-Ahmadzai", "Sher Agha", "U", None, None, "H0000013"),
]


def parsed() -> list[tuple[str, list]]:
    message = paxlst(FLIGHT, PASSENGERS, "SAFEPASSAGE OAKB", "OTBH API", "P17", FLIGHT.departs_at)
    interchange = Interchange.from_str(message)
    return [(s.tag, s.elements) for s in interchange.segments]


def test_the_message_reads_back_with_its_counts_right() -> None:
    segments = parsed()
    tags = [t for t, _ in segments]
    assert tags[:3] == ["UNH", "BGM", "NAD"] and tags[-2:] == ["CNT", "UNT"]
    unt = segments[-1][1]
    assert int(unt[0]) == len(segments)  # UNH to UNT inclusive
    cnt = segments[-2][1]
    assert cnt[0] == ["42", "3"]
    passengers = [e for t, e in segments if t == "NAD" and e[0] == "FL"]
    assert len(passengers) == 3  # nobody left off, with or without a document


def test_each_passenger_carries_what_is_known_and_nothing_invented() -> None:
    segments = parsed()
    docs = [e for t, e in segments if t == "DOC"]
    assert docs == [[["P", "110", "111"], "P1234567"]]  # only the one with a passport
    births = [e[0][1] for t, e in segments if t == "DTM" and e[0][0] == "329"]
    assert births == ["910803", "201201"]  # the third's date of birth is not known
    names = [e[3] for t, e in segments if t == "NAD" and e[0] == "FL"]
    assert names[2] == ["ONEIL-AHMADZAI", "SHER AGHA"]
    assert [e[1] for t, e in segments if t == "NAT"] == ["AFG", "AFG"]
    assert [e for t, e in segments if t == "TDT"] == [["20", "RCH871"]]


def test_separators_in_values_are_escaped() -> None:
    assert text("A+B:C?D") == "A?+B?:C??D"
    assert text("Mohammad  Ḥasan") == "MOHAMMAD HASAN"
