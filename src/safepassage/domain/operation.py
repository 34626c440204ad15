"""The operation itself: one airport, one time zone, one registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safepassage.domain.errors import FieldError, check

_ICAO = re.compile(r"^[A-Z]{4}$")


@dataclass(frozen=True)
class Operation:
    """The operation's name, the airport it flies from, and the time zone it runs on."""

    name: str
    airport_icao: str
    timezone: str

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not (self.name or "").strip():
            errors.append(FieldError("name", "the operation needs a name"))
        code = (self.airport_icao or "").strip().upper()
        object.__setattr__(self, "airport_icao", code)
        if not _ICAO.match(code):
            errors.append(FieldError("airport_icao", "four letters, e.g. OAKB for Kabul"))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                FieldError(
                    "timezone", f"{self.timezone!r} is not an IANA time zone, e.g. Asia/Kabul"
                )
            )
        check(errors)

    @property
    def zone(self) -> ZoneInfo:
        """The operation's time zone: local times are entered and shown in it."""
        return ZoneInfo(self.timezone)
