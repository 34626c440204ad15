"""Machine-readable zones (MRZ) of passports, identity cards and visas, per ICAO Doc 9303.

Parses the lines a gate operator pastes or a scanner sends: TD3 passports (2 lines of 44), TD2
(2 of 36) and TD1 (3 of 30) documents, and MRV-A / MRV-B visas (2 of 44 / 2 of 36, starting with
"V"). Every check digit of the format is verified; a wrong one is refused naming the field, so
the operator knows what to re-scan. Nothing is guessed: a scanner's spaces are dropped only when
the line then has exactly its length, and anything else doubtful is refused with what to fix.

Written here with the standard library only, rather than taken from the ``mrz`` package on PyPI:
that package is GPLv3 (this project is Apache-2.0), was last released in 2020, and does not
handle long document numbers on TD1/TD2, where a number of more than nine characters has "<" in
place of its check digit and continues, with its check digit, in the optional data field.
"""

from __future__ import annotations

import datetime as dt
import string
from contextlib import suppress
from dataclasses import dataclass

from safepassage.domain.countries import country
from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.people import Document, DocumentKind, Sex

_FIELD = "mrz"
_CHECK = "re-scan or check line 2"  # where the dates and the sex are, in every format
_VALUES = {c: i for i, c in enumerate(string.digits + string.ascii_uppercase)} | {"<": 0}
_WEIGHTS = (7, 3, 1)
_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_LINE = dict(TD1="a TD1 identity card", TD2="a TD2 document", TD3="a TD3 passport")
_LINE |= dict(MRVA="an MRV-A visa", MRVB="an MRV-B visa")  # "... line has 44"
_KINDS = {"P": DocumentKind.PASSPORT, "V": DocumentKind.VISA}
_KINDS |= dict.fromkeys("IAC", DocumentKind.NATIONAL_ID)
_SEXES = {"F": Sex.FEMALE, "M": Sex.MALE, "<": Sex.OTHER}
# ICAO codes that are not ISO 3166 alpha-3. Every code starting with "X" is also country-less:
# XXA stateless, XXB / XXC refugee, XXX unspecified, and organisations (XPO Interpol, XOM, ...).
_ICAO_ONLY: dict[str, str | None] = {
    "D": "DE",  # Germany
    "GBD": "GB",  # British Overseas Territories Citizen
    "GBN": "GB",  # British National (Overseas)
    "GBO": "GB",  # British Overseas Citizen
    "GBP": "GB",  # British Protected Person
    "GBS": "GB",  # British Subject
    "UNO": None,  # United Nations
    "UNA": None,  # a specialised agency of the United Nations
    "UNK": None,  # resident of Kosovo, document issued by UNMIK
    "EUE": None,  # European Union
    "RKS": None,  # Kosovo: no ISO 3166 code, and the registry's table has no user-assigned XK
    "UTO": None,  # Utopia, the fictional state of the Doc 9303 specimens
}

Ymd = tuple[int | None, int | None, int | None]


def check_digit(data: str) -> str:
    """The ICAO 9303 Part 3 check digit of ``data``: weights 7, 3, 1; A-Z are 10-35; "<" is 0."""
    try:
        total = sum(_VALUES[c] * _WEIGHTS[i % 3] for i, c in enumerate(data))
    except KeyError as e:
        raise InvalidInput(f"{e.args[0]!r} cannot be in an MRZ", field=_FIELD) from None
    return str(total % 10)


@dataclass(frozen=True)
class MachineReadableZone:
    """What the MRZ says, every check digit verified. Codes are as printed, fillers dropped."""

    format: str  # TD1, TD2, TD3, MRVA or MRVB
    document_code: str  # e.g. "P", "PO", "I", "ID", "V"
    issuing_state: str  # ICAO code as printed, e.g. "AFG", "D", "UTO"
    issuing_country: str | None  # ISO alpha-2; None for codes with no country (XXA, UNO, ...)
    surname: str  # the primary identifier; may be empty for a given-names-only MRZ
    given_names: str  # the secondary identifier; "" when the MRZ has only a primary one
    document_number: str  # in full, with a TD1/TD2 overflow joined back on
    nationality: str
    nationality_country: str | None
    birth_date: Ymd  # (year, month, day); a part given as "<<" in the MRZ is None
    expiry_date: tuple[int, int, int]
    sex: Sex  # F, M, or X for "<"
    optional_data: str  # personal number etc.; on TD1, line 1 after any document number overflow
    optional_data_2: str  # TD1 only: line 2 positions 19-29
    lines: tuple[str, ...]  # the MRZ lines as parsed (upper case, scanner spaces dropped)

    @property
    def kind(self) -> DocumentKind:
        """The registry's kind of document: a passport, a national identity card or a visa."""
        return _KINDS[self.document_code[0]]

    @property
    def expiry(self) -> dt.date:
        """The day the document expires."""
        return dt.date(*self.expiry_date)

    def date_of_birth_text(self) -> str | None:
        """The date of birth as ISO text, in a form ``parse_date_of_birth`` accepts.

        Returns:
            "1974-08-12"; "1974-08" or "1974" when only part is known; None if the year is not.
        """
        year, month, day = self.birth_date
        if year is None:
            return None
        if month is None:
            return f"{year:04d}"
        return f"{year:04d}-{month:02d}" if day is None else f"{year:04d}-{month:02d}-{day:02d}"

    def to_document(self) -> Document:
        """The document for the registry.

        Raises:
            InvalidInput: the registry refuses it, e.g. a passport whose issuer has no country
                (a UN laissez-passer, the UTO specimen).
        """
        return Document(self.kind, self.document_number, self.issuing_country, self.expiry)


def parse_mrz(text: str, today: dt.date | None = None) -> MachineReadableZone:
    """Parse and verify the MRZ in ``text``.

    Args:
        text: the lines as pasted or scanned: surrounding whitespace, CRLF and lower case are
            fine; all lines run together on one line are split when the length says how.
        today: resolves a two-digit birth year: one that would lie in the future is 19yy.

    Returns:
        The fields of the MRZ, every check digit of its format verified.

    Raises:
        InvalidInput: field "mrz", with a message naming the line, position or field to fix.
    """
    fmt, lines = _read_lines(text)
    head = lines[0]
    code = head[0:2].rstrip("<")
    if not code or code[0] not in _KINDS or (code[0] == "V") != fmt.startswith("MRV"):
        raise InvalidInput(
            f"the document code {head[0:2]!r} (line 1, positions 1–2) is not P (passport), "
            "V (visa, 2 lines), or I, A or C (identity document): re-scan or check line 1",
            field=_FIELD,
        )
    if fmt == "TD1":
        top, low, name = lines
        number, number_cd, optional = top[5:14], top[14], top[15:30]
        birth, birth_cd, sex, expiry, expiry_cd = low[0:6], low[6], low[7], low[8:14], low[14]
        nationality, optional_2, number_line = low[15:18], low[18:29], "line 1"
        composite = (top[5:30] + low[0:7] + low[8:15] + low[18:29], low[29])
    else:
        low, name, optional_2, number_line = lines[1], head[5:], "", "line 2"
        number, number_cd, nationality = low[0:9], low[9], low[10:13]
        birth, birth_cd, sex, expiry, expiry_cd = low[13:19], low[19], low[20], low[21:27], low[27]
        end = {"TD3": 43, "TD2": 35}.get(fmt, len(low))  # the composite check digit; visas: none
        optional = low[28:42] if fmt == "TD3" else low[28:end]
        composite = (low[0:10] + low[13:20] + low[21:end], low[end : end + 1])
    if number_cd == "<" and fmt in ("TD1", "TD2"):
        number, number_cd, optional = _long_number(number, optional, number_line)
    errors = [
        _verify("the check digit of the document number", number, number_cd, number_line),
        _verify("the check digit of the date of birth", birth, birth_cd, "line 2"),
        _verify("the check digit of the date of expiry", expiry, expiry_cd, "line 2"),
    ]
    if fmt == "TD3" and not (low[42] == "<" and optional == "<" * 14):
        errors.append(
            _verify("the check digit of the personal number", optional, low[42], "line 2")
        )
    found = [e for e in errors if e is not None]
    if not found and composite[1]:
        where = "lines 1 and 2" if fmt == "TD1" else "line 2"
        found = [e for e in [_verify("the composite check digit", *composite, where)] if e]
    check(found)
    surname, _, given_names = name.partition("<<")
    if not name.strip("<"):
        where = "line 3" if fmt == "TD1" else "line 1, from position 6"
        raise InvalidInput(f"the name field ({where}) is empty: re-scan or check it", _FIELD)
    return MachineReadableZone(
        format=fmt,
        document_code=code,
        issuing_state=head[2:5].rstrip("<"),
        issuing_country=_country(head[2:5], "issuing state", "line 1, positions 3–5"),
        surname=_name_part(surname),
        given_names=_name_part(given_names),
        document_number=number.rstrip("<"),
        nationality=nationality.rstrip("<"),
        nationality_country=_country(
            nationality,
            "nationality",
            "line 2, positions 16–18" if fmt == "TD1" else "line 2, positions 11–13",
        ),
        birth_date=_birth_date(birth, today or dt.date.today()),
        expiry_date=_expiry_date(expiry),
        sex=_sex(sex),
        optional_data=optional.strip("<"),
        optional_data_2=optional_2.strip("<"),
        lines=lines,
    )


def _read_lines(text: str) -> tuple[str, tuple[str, ...]]:
    """The format and the MRZ lines, each of the format's length and holding only A-Z 0-9 <."""
    lines = [s.strip().translate(_UPPER) for s in (text or "").splitlines() if s.strip()]
    if len(lines) == 1:  # a scanner that sends every line run together
        one = "".join(lines[0].split())
        size = {88: 44, 72: 36, 90: 30}.get(len(one))
        lines = [one[i : i + size] for i in range(0, len(one), size)] if size else lines
    if len(lines) not in (2, 3):
        raise InvalidInput(
            f"the MRZ has {len(lines)} line(s); a passport has 2 lines of 44 characters, an "
            "identity card 3 lines of 30 or 2 of 36: paste every line of the MRZ",
            field=_FIELD,
        )
    compact = ["".join(s.split()) for s in lines]
    sizes = [len(s) for s in compact if len(s) in (44, 36)]
    size = 30 if len(lines) == 3 else sizes[0] if sizes else 44
    fmt = {30: "TD1", 36: "TD2", 44: "TD3"}[size]
    if len(lines) == 2 and lines[0].startswith("V"):
        fmt = "MRVA" if size == 44 else "MRVB"
    out = []
    for n, (line, bare) in enumerate(zip(lines, compact, strict=True), 1):
        line = bare if len(line) != size and len(bare) == size else line
        if len(line) != size:
            spaces = f" and {len(line) - len(bare)} space(s)" if line != bare else ""
            raise InvalidInput(
                f"line {n} has {len(bare)} characters{spaces}; {_LINE[fmt]} line has {size}"
                + (": type each filler as <" if spaces else ""),
                field=_FIELD,
            )
        for pos, c in enumerate(line, 1):
            if c not in _VALUES:
                what = "a space (type each filler as <)" if c == " " else repr(c)
                raise InvalidInput(
                    f"line {n}, position {pos} has {what}; an MRZ holds only A–Z, 0–9 and <",
                    field=_FIELD,
                )
        out.append(line)
    return fmt, tuple(out)


def _long_number(principal: str, optional: str, where: str) -> tuple[str, str, str]:
    """A TD1/TD2 number of more than 9 characters, joined back from the optional data.

    Returns (full number, its check digit, the rest of the optional data). The overflow and its
    check digit run up to the first "<".
    """
    end = optional.find("<")
    part = optional if end < 0 else optional[:end]
    if len(part) < 2 or "<" in principal:
        raise InvalidInput(
            "the document number has < for its check digit but does not continue in the "
            f"optional data: re-scan or check {where}",
            field=_FIELD,
        )
    return principal + part[:-1], part[-1], optional[len(part) + 1 :]


def _verify(what: str, data: str, printed: str, where: str) -> FieldError | None:
    computed = check_digit(data)
    if printed == computed:
        return None
    says = f"is {computed} but the MRZ says {printed}"
    if not printed.isdigit():
        says = f"should be a digit ({computed}) but the MRZ has {printed!r}"
    return FieldError(_FIELD, f"{what} {says}: re-scan or check {where}")


def _country(code: str, what: str, where: str) -> str | None:
    key = code.rstrip("<")
    if key in _ICAO_ONLY:
        return _ICAO_ONLY[key]
    if len(key) == 3 and key.isalpha():
        if key.startswith("X"):
            return None
        with suppress(InvalidInput):  # not ISO either: refused below, naming the field
            return country(key).alpha2
    raise InvalidInput(
        f"the {what} {code!r} ({where}) is not an ICAO country code: re-scan or check the line",
        field=_FIELD,
    )


def _name_part(part: str) -> str:
    return " ".join(part.replace("<", " ").split())


def _ymd(text: str, what: str, unknown_ok: bool) -> Ymd:
    pairs = [text[i : i + 2] for i in (0, 2, 4)]
    if not all(p.isdigit() or (unknown_ok and p == "<<") for p in pairs):
        raise InvalidInput(f"the {what} {text!r} is not a date (YYMMDD): {_CHECK}", _FIELD)
    yy, mm, dd = (int(p) if p.isdigit() else None for p in pairs)
    _real(2000 + (yy or 0), mm, dd, what, text)  # an unknown year may have 29 February
    return yy, mm, dd


def _real(year: int, month: int | None, day: int | None, what: str, text: str) -> None:
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError as e:
        raise InvalidInput(f"the {what} {text} is not a date ({e}): {_CHECK}", _FIELD) from None


def _birth_date(text: str, today: dt.date) -> Ymd:
    yy, mm, dd = _ymd(text, "date of birth", unknown_ok=True)
    if yy is None:
        return None, mm, dd
    year = today.year // 100 * 100 + yy
    if (year, mm or 1, dd or 1) > (today.year, today.month, today.day):
        year -= 100
    _real(year, mm, dd, "date of birth", text)  # 19yy and 20yy differ in leap years for 00
    return year, mm, dd


def _expiry_date(text: str) -> tuple[int, int, int]:
    yy, mm, dd = _ymd(text, "date of expiry", unknown_ok=False)
    assert yy is not None and mm is not None and dd is not None
    return 2000 + yy, mm, dd


def _sex(c: str) -> Sex:
    if c not in _SEXES:
        raise InvalidInput(f"the sex {c!r} is not F, M or <: {_CHECK}", _FIELD)
    return _SEXES[c]
