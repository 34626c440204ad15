"""UN/EDIFACT PAXLST, the passenger list a departure's destination receives before it lands.

Written after the WCO/IATA PAXLST implementation guide (version 3.0, 2010), air mode: UNA, UNB,
UNH, BGM, the reporting party (NAD+MS), the flight (TDT with its departure and arrival: LOC+125
and DTM+189, LOC+87 and DTM+232), then each passenger (NAD+FL with the name, ATT sex, DTM+329
date of birth, LOC+178 and LOC+179 embarkation and debarkation, NAT nationality, RFF+AVF the
household's reference, and the travel document in DOC with DTM+36 expiry and LOC+91 issuing
state), CNT+42 the number of passengers, UNT with the segment count and UNZ.

Our own writer, about a hundred lines: the message is small and its rules are the guide's, not
a library's (pydifact, an independent parser, reads it back in the tests). Syntax level UNOA
(upper-case letters, digits, a few signs): names are transliterated and anything else is
dropped; the separators are escaped with ``?``. A person without a travel document is listed
with every segment the guide makes conditional on a document left out (no DOC group), never
left off the list; a date of birth not known to the day is left out the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from anyascii import anyascii

UNA = "UNA:+.? '"
_NOT_UNOA = re.compile(r"[^A-Z0-9 .,\-()/=!\"%&*;<>+:?']")
DOCUMENT_CODES = {"passport": "P", "national_id": "I", "visa": "V"}


@dataclass(frozen=True)
class Flight:
    number: str
    departs_from: str
    """Airport code (IATA or ICAO) of departure."""
    departs_at: dt.datetime
    arrives_at_airport: str
    arrives_at: dt.datetime | None = None
    """None when not known: DTM+232 is left out, not guessed."""


@dataclass(frozen=True)
class Document:
    kind: str
    """passport, national_id, visa."""
    number: str
    issuing_country: str | None = None
    """ISO 3166-1 alpha-3."""
    expiry: dt.date | None = None


@dataclass(frozen=True)
class Passenger:
    surname: str
    given_names: str
    sex: str
    """M, F, or U when not known."""
    date_of_birth: dt.date | None
    nationality: str | None
    """ISO 3166-1 alpha-3."""
    reference: str
    document: Document | None = None


def text(value: str) -> str:
    """A value as UNOA allows it: transliterated, upper case, separators escaped."""
    plain = _NOT_UNOA.sub("", anyascii(value or "").upper().replace("'", ""))
    return re.sub(r"([+:?'])", r"?\1", " ".join(plain.split()))


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%y%m%d%H%M")


def paxlst(
    flight: Flight,
    passengers: Sequence[Passenger],
    sender: str,
    receiver: str,
    reference: str,
    now: dt.datetime,
) -> str:
    """The interchange, one segment a line."""
    ref = text(reference)[:14]
    message = [
        f"UNH+1+PAXLST:D:05B:UN:IATA+{ref}+01:F",
        "BGM+745",
        f"NAD+MS+++{text(sender)[:35]}",
        f"TDT+20+{text(flight.number)}",
        f"LOC+125+{text(flight.departs_from)}",
        f"DTM+189:{_when(flight.departs_at)}:201",
        f"LOC+87+{text(flight.arrives_at_airport)}",
    ]
    if flight.arrives_at is not None:
        message.append(f"DTM+232:{_when(flight.arrives_at)}:201")
    for p in passengers:
        message.append(f"NAD+FL+++{text(p.surname)[:35]}:{text(p.given_names)[:35]}")
        message.append(f"ATT+2++{p.sex if p.sex in ('M', 'F') else 'U'}")
        if p.date_of_birth is not None:
            message.append(f"DTM+329:{p.date_of_birth.strftime('%y%m%d')}")
        message.append(f"LOC+178+{text(flight.departs_from)}")
        message.append(f"LOC+179+{text(flight.arrives_at_airport)}")
        if p.nationality:
            message.append(f"NAT+2+{text(p.nationality)}")
        message.append(f"RFF+AVF:{text(p.reference)[:25]}")
        d = p.document
        if d is not None:
            code = DOCUMENT_CODES.get(d.kind, "F")
            message.append(f"DOC+{code}:110:111+{text(d.number)}")
            if d.expiry is not None:
                message.append(f"DTM+36:{d.expiry.strftime('%y%m%d')}")
            if d.issuing_country:
                message.append(f"LOC+91+{text(d.issuing_country)}")
    message.append(f"CNT+42:{len(passengers)}")
    message.append(f"UNT+{len(message) + 1}+1")
    stamp = now.astimezone(dt.UTC)
    return (
        "\n".join(
            [
                UNA,
                f"UNB+UNOA:4+{text(sender)[:35]}+{text(receiver)[:35]}+"
                f"{stamp:%y%m%d}:{stamp:%H%M}+{ref}'",
                *(s + "'" for s in message),
                f"UNZ+1+{ref}'",
            ]
        )
        + "\n"
    )
