"""Recognising the columns of a list: which header means which field of a person.

Lists come from embassies, ministries, NGOs and universities, each with its own headers, often in
English with local habits ("F/Name", "S/O", "Tazkira No", "Mobile #") and sometimes in Dari.
The mapping suggested here is only a proposal: the user confirms or adjusts it on the page, and
it is remembered per source. Standard library only (difflib for near misses).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """The fields a column can fill."""

    FULL_NAME = "full_name"
    GIVEN_NAME = "given_name"
    FATHER_NAME = "father_name"
    FAMILY_NAME = "family_name"
    NATIVE_NAME = "native_name"
    SEX = "sex"
    DATE_OF_BIRTH = "date_of_birth"
    YEAR_OF_BIRTH = "year_of_birth"
    NATIONALITY = "nationality"
    CATEGORY = "category"
    PHONE = "phone"
    PASSPORT_NUMBER = "passport_number"
    PASSPORT_COUNTRY = "passport_country"
    PASSPORT_EXPIRY = "passport_expiry"
    NATIONAL_ID = "national_id"
    CASE_NUMBER = "case_number"
    VISA_NUMBER = "visa_number"
    NEEDS = "needs"
    HOUSEHOLD = "household"
    RELATIONSHIP = "relationship"
    SPONSOR_ORG = "sponsor_org"
    SOURCE_ID = "source_id"
    MRZ = "mrz"


_SYNONYMS: dict[Target, tuple[str, ...]] = {
    Target.FULL_NAME: (
        "full name",
        "name",
        "applicant name",
        "applicant",
        "name of applicant",
        "evacuee",
        "evacuee name",
        "person",
        "names",
        "nom",
    ),
    Target.GIVEN_NAME: (
        "given name",
        "given names",
        "first name",
        "firstname",
        "forename",
        "first",
        "f name",
        "prenom",
        "name first",
        "نام",
    ),
    Target.FATHER_NAME: (
        "father name",
        "fathers name",
        "father",
        "s o",
        "so",
        "d o",
        "son of",
        "daughter of",
        "s o d o",
        "father s name",
        "f name father",
        "fname",
        "wald",
        "walad",
        "نام پدر",
        "ولد",
        "ولدیت",
    ),
    Target.FAMILY_NAME: (
        "family name",
        "last name",
        "lastname",
        "surname",
        "last",
        "nom de famille",
        "tribe",
        "clan",
        "تخلص",
        "نام خانوادگی",
    ),
    Target.NATIVE_NAME: (
        "name in dari",
        "name in pashto",
        "native name",
        "name native",
        "name dari",
        "name pashto",
        "name arabic",
        "local name",
    ),
    Target.SEX: ("sex", "gender", "m f", "جنسیت"),
    Target.DATE_OF_BIRTH: (
        "date of birth",
        "dob",
        "d o b",
        "birth date",
        "birthdate",
        "born",
        "birthday",
        "تاریخ تولد",
    ),
    Target.YEAR_OF_BIRTH: ("year of birth", "yob", "birth year", "age year", "سال تولد"),
    Target.NATIONALITY: (
        "nationality",
        "nationalities",
        "citizenship",
        "citizen of",
        "nation",
        "country of citizenship",
        "تابعیت",
    ),
    Target.CATEGORY: ("category", "status category", "eligibility category", "type", "group"),
    Target.PHONE: (
        "phone",
        "phone number",
        "mobile",
        "mobile number",
        "mobile no",
        "cell",
        "tel",
        "telephone",
        "contact",
        "contact number",
        "whatsapp",
        "شماره تماس",
    ),
    Target.PASSPORT_NUMBER: (
        "passport",
        "passport number",
        "passport no",
        "passport nr",
        "ppt",
        "ppt no",
        "passport num",
        "شماره پاسپورت",
    ),
    Target.PASSPORT_COUNTRY: (
        "passport country",
        "issuing country",
        "passport issued by",
        "country of issue",
        "issuing state",
    ),
    Target.PASSPORT_EXPIRY: (
        "passport expiry",
        "expiry",
        "expiry date",
        "date of expiry",
        "passport expiry date",
        "valid until",
        "expires",
    ),
    Target.NATIONAL_ID: (
        "tazkira",
        "tazkera",
        "tazkira number",
        "tazkira no",
        "e tazkira",
        "national id",
        "nid",
        "id number",
        "id no",
        "national id number",
        "تذکره",
        "نمبر تذکره",
    ),
    Target.CASE_NUMBER: (
        "case number",
        "case no",
        "case id",
        "siv case",
        "siv number",
        "arap number",
        "reference",
        "ref",
        "application number",
        "file number",
    ),
    Target.VISA_NUMBER: ("visa", "visa number", "visa no"),
    Target.NEEDS: (
        "needs",
        "special needs",
        "medical",
        "medical needs",
        "disability",
        "assistance",
    ),
    Target.HOUSEHOLD: (
        "household",
        "household id",
        "family id",
        "family number",
        "family no",
        "group id",
        "family group",
        "hh id",
    ),
    Target.RELATIONSHIP: (
        "relationship",
        "relation",
        "relation to head",
        "relationship to head",
        "role in family",
        "family role",
    ),
    Target.SPONSOR_ORG: (
        "sponsor",
        "sponsor organisation",
        "sponsor organization",
        "university",
        "employer",
        "organisation",
        "organization",
        "ngo",
    ),
    Target.SOURCE_ID: (
        "id",
        "no",
        "number",
        "serial",
        "s no",
        "sr no",
        "row id",
        "record id",
        "applicant id",
        "uid",
    ),
    Target.MRZ: ("mrz", "machine readable zone", "passport mrz"),
}

_INDEX = {syn: target for target, syns in _SYNONYMS.items() for syn in syns}


def header_key(header: str) -> str:
    """A header as compared: lower case, letters and digits (any script) separated by spaces."""
    text = unicodedata.normalize("NFKC", header or "").lower()
    text = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", text)  # "DOB (dd/mm/yyyy)": the hint is not the name
    text = re.sub(r"[’'`]", "", text)
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


@dataclass(frozen=True)
class ColumnGuess:
    """The field a list's column header most likely means, and how sure the guess is."""

    header: str
    target: Target | None
    confidence: float  # 1.0 exact synonym, lower for a near miss, 0 when unrecognised


def guess_column(header: str, cutoff: float = 0.82) -> ColumnGuess:
    """The field a header most likely means, exact synonym first, then the nearest spelling."""
    key = header_key(header)
    if key in _INDEX:
        return ColumnGuess(header, _INDEX[key], 1.0)
    near = difflib.get_close_matches(key, list(_INDEX), n=1, cutoff=cutoff)
    if near:
        ratio = difflib.SequenceMatcher(None, key, near[0]).ratio()
        return ColumnGuess(header, _INDEX[near[0]], round(ratio, 2))
    return ColumnGuess(header, None, 0.0)


def suggest_mapping(headers: list[str]) -> dict[str, Target | None]:
    """A proposed target for every header, for the user to confirm before the import.

    A target goes to the surest header only, and a header nobody recognises maps to None (kept
    with the row, never dropped).
    """
    guesses = sorted((guess_column(h) for h in headers), key=lambda g: -g.confidence)
    taken: set[Target] = set()
    mapping: dict[str, Target | None] = {h: None for h in headers}
    for g in guesses:
        if g.target is not None and g.target not in taken:
            mapping[g.header] = g.target
            taken.add(g.target)
    # "Name" alone next to a father's and a family name column is the given name
    names = {Target.FATHER_NAME, Target.FAMILY_NAME} & taken
    for h, t in mapping.items():
        if t is Target.FULL_NAME and names and Target.GIVEN_NAME not in taken:
            mapping[h] = Target.GIVEN_NAME
    return mapping


def check_mapping(mapping: dict[str, Target | None]) -> list[str]:
    """What a mapping still lacks for a person to be recorded, as sentences for the page."""
    targets = {t for t in mapping.values() if t is not None}
    problems = []
    if not targets & {Target.GIVEN_NAME, Target.FULL_NAME, Target.MRZ}:
        problems.append("no column gives the person's name: map one to given name or full name")
    counts: dict[Target, int] = {}
    for t in mapping.values():
        if t is not None:
            counts[t] = counts.get(t, 0) + 1
    problems += [
        f"{t.value.replace('_', ' ')} is mapped from {n} columns; keep one"
        for t, n in counts.items()
        if n > 1
    ]
    return problems
