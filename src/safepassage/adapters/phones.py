"""Phone numbers normalised to E.164 with the phonenumbers library (libphonenumber's data)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from safepassage.domain.errors import InvalidInput


@lru_cache(maxsize=65536)
def normalise_phone(text: str | None, region: str | None = "AF") -> str | None:
    """E.164 form of ``text``; the country is assumed to be ``region`` when the number has none."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        num = phonenumbers.parse(text, region or "AF")
    except phonenumbers.NumberParseException as e:
        raise InvalidInput(f"{text!r} is not a phone number: {e}", field="phone") from e
    if not phonenumbers.is_possible_number(num):
        raise InvalidInput(
            f"{text!r} has the wrong number of digits for its country", field="phone"
        )
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and all(ch.isdigit() or ch in "+ -()" for ch in text.strip())
