"""The rows of the labelled linkage set: one person as one list writes them.

Every row varies the spelling of each name part from the tables (``demo_data``) plus a few real
spellings (``linkage_names.EXTRA_SPELLINGS``), carries one-edit typos (keyboard neighbour,
deletion, insertion, transposition; 3-10 of 100 Latin name fields by list), drops the
father's or family name, swaps given and family name (1-3 of 100), drops the sex (1-10 of 100;
wrong in 3 of 1000), writes a year off by one (2-10 of 100 of the dates), and writes phones in
the forms lists use (+93 70 123 4567, 0093701234567, 0701234567 ...), with a wrong digit in 1 of
100. Every row is still a valid registry row: a given name (Latin or Dari), a date that
``parse_date_of_birth`` reads (a year 1279-1500 is Solar Hijri; see ``linkage_set.parse_dob``),
a passport number ``Document`` accepts, and a phone ``normalise_phone`` reads.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import Counter
from functools import lru_cache

import jdatetime

from safepassage.synthetic.linkage_lists import DATE_CUM, HABITS, LISTS, TODAY, Habits, SourceList
from safepassage.synthetic.linkage_names import DARI, SPELLINGS
from safepassage.synthetic.linkage_people import Entity, Household

_TODAY = (TODAY.year, TODAY.month, TODAY.day)
_TODAY_SH = (1400, 5, 24)  # the same day in the Solar Hijri calendar

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    near: dict[str, str] = {}
    for ri, row in enumerate(_ROWS):
        for ci, ch in enumerate(row):
            out = [row[j] for j in (ci - 1, ci + 1) if 0 <= j < len(row)]
            for rj in (ri - 1, ri + 1):
                if 0 <= rj < len(_ROWS):
                    other = _ROWS[rj]
                    # the rows are staggered: the row below starts half a key to the right
                    for j in (ci - 1, ci) if rj > ri else (ci, ci + 1):
                        if 0 <= j < len(other):
                            out.append(other[j])
            near[ch] = "".join(out)
    return near


_NEAR = _neighbours()
_OCR = {"0": "O", "1": "I", "5": "S", "8": "B"}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك"})


def _typo(text: str, rng: random.Random) -> str:
    """One edit: a keyboard neighbour, a letter lost, a letter doubled or added, two swapped."""
    spots = [i for i, c in enumerate(text) if c.isalpha() and c.lower() in _NEAR]
    if len(text) < 3 or not spots:
        return text
    i = rng.choice(spots)
    c = text[i]
    op = rng.random()
    if op < 0.35:
        n = rng.choice(_NEAR[c.lower()])
        return text[:i] + (n.upper() if c.isupper() else n) + text[i + 1 :]
    if op < 0.6:
        return text[:i] + text[i + 1 :]
    if op < 0.8:
        n = c if rng.random() < 0.5 else rng.choice(_NEAR[c.lower()])
        return text[:i] + (n.upper() if c.isupper() else n.lower()) + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + c + text[i + 2 :]
    return text[:i] + text[i + 1 :]


@lru_cache(maxsize=4096)
def _sh_ok(y: int, m: int, d: int) -> bool:
    try:
        jdatetime.date(y, m, d)
    except ValueError:
        return False
    return True


class Writer:
    """Renders rows with its own random stream, so the people are the same in both passes."""

    def __init__(self, seed: int, namesakes: Counter[str]) -> None:
        self.rng = random.Random(f"rows/{seed}")
        self.namesakes = namesakes
        self.counters = [0] * len(LISTS)

    def ref(self, li: int) -> str:
        self.counters[li] += 1
        return LISTS[li].ref.format(self.counters[li])

    def spell(self, e: Entity, part: str, habits: Habits) -> str:
        """One name part: as on the person's passport, or any spelling lists use for it."""
        r = self.rng.random
        options = SPELLINGS[part]
        pref = e.pref.get(part)
        if pref is None:
            n = len(options)
            pref = part if n == 1 or r() < 0.6 else options[1 + int(r() * (n - 1))]
            e.pref[part] = pref
        if r() < habits.passport_spelling:
            return pref
        return options[int(r() * len(options))]

    def latin(self, e: Entity, parts: tuple[str, ...], habits: Habits, given: bool) -> str:
        if given and len(parts) == 2 and parts[0] != "Ghulam":
            x = self.rng.random()
            if x < habits.prefix_drop:
                parts = parts[1:]
            elif parts[0] == "Mohammad" and x < habits.prefix_drop + habits.initial:
                return "M. " + self.spell(e, parts[1], habits)
        if len(parts) == 1:
            text = self.spell(e, parts[0], habits)
        else:
            text = " ".join([self.spell(e, p, habits) for p in parts])
        if given and e.honor and self.rng.random() < 0.6:
            text += " " + e.honor
        return text

    def dari(self, parts: tuple[str, ...], arabic_keys: bool) -> str:
        text = " ".join(DARI[p] for p in parts)
        if " " in text and self.rng.random() < 0.3:  # a split name written joined
            text = text.replace(" ", "\u200c" if self.rng.random() < 0.5 else "")
        return text.translate(_ARABIC_KEYBOARD) if arabic_keys else text

    def dob(self, e: Entity, lst: SourceList, habits: Habits, persian: bool) -> str:
        rng = self.rng
        names, cum = DATE_CUM[lst.kind]
        fmt = names[bisect(cum, rng.random() * cum[-1])]
        if fmt == "none":
            return ""
        off = 0
        if rng.random() < habits.year_off:
            off = 1 if rng.random() < 0.5 else -1
        if fmt in ("sh", "sh_year"):
            y, m, d = e.sh
            y += off
            if (y, m, d) > _TODAY_SH:
                y -= 2 * off
            if fmt == "sh_year" or not e.day_known:
                text = str(y)
            else:
                while not _sh_ok(y, m, d):
                    d -= 1
                text = f"{y}/{m:02d}/{d:02d}"
            return text.translate(_PERSIAN_DIGITS) if persian else text
        if e.day_known:
            y, m, d = e.dob.year, e.dob.month, e.dob.day
        else:  # the passport's 1 January of the nominal year
            y, m, d = e.greg_year, 1, 1
        y += off
        if (y, m, d) > _TODAY:
            y -= 2 * off
        if m == 2 and d == 29 and y % 4:
            d = 28
        if fmt == "year":
            return str(y)
        if fmt == "iso":
            return f"{y:04d}-{m:02d}-{d:02d}"
        sep = "." if lst.dots else "/"
        if d <= 12 and d != m and rng.random() < lst.swap and (y, d, m) <= _TODAY:
            d, m = m, d
        return f"{d:02d}{sep}{m:02d}{sep}{y:04d}"

    def passport(self, e: Entity, habits: Habits) -> str:
        rng = self.rng
        if not e.passports or rng.random() >= (
            habits.passport_adult if e.age >= 18 else habits.passport_child
        ):
            return ""
        number = e.passports[-1] if len(e.passports) == 1 or rng.random() < 0.7 else e.passports[0]
        if rng.random() < habits.ocr:
            spots = [i for i, c in enumerate(number) if c in _OCR]
            if spots:
                i = rng.choice(spots)
                number = number[:i] + _OCR[number[i]] + number[i + 1 :]
        elif rng.random() < 0.02:  # the letter left out
            number = number[1:]
        return number

    def phone(self, e: Entity, h: Household, lst: SourceList, habits: Habits, persian: bool) -> str:
        rng = self.rng
        if rng.random() >= habits.phone:
            return ""
        if lst.kind == "signup" and h.helper and rng.random() < 0.9:
            e164 = h.helper
        elif e.phones and rng.random() < 0.7:
            e164 = rng.choice(e.phones)
        else:
            e164 = h.phone
        n = e164[3:]  # 9 digits: 70 123 4567
        if rng.random() < 0.01:  # a wrong digit
            i = rng.randrange(2, 9)
            n = n[:i] + str((int(n[i]) + rng.randint(1, 9)) % 10) + n[i + 1 :]
        x = rng.random()
        if x < 0.25:
            text = f"+93 {n[:2]} {n[2:5]} {n[5:]}"
        elif x < 0.40:
            text = f"0093{n}"
        elif x < 0.70:
            text = f"0{n}"
        elif x < 0.85:
            text = f"+93{n}"
        elif x < 0.95:
            text = f"0{n[:2]} {n[2:5]} {n[5:]}"
        else:
            text = f"93{n}"
        return text.translate(_PERSIAN_DIGITS) if persian else text

    def row(self, e: Entity, h: Household, slot: int) -> tuple[str, ...]:
        """One row, without its record id: (list, kind, ref, relationship, given ... note)."""
        rng = self.rng
        r = rng.random
        li = h.pool[slot]
        lst = LISTS[li]
        habits = HABITS[lst.kind]
        rel = e.rel
        if e.age >= 18 and rel == "child" and r() < habits.own_ref:
            ref, rel = self.ref(li), "head"
        else:
            ref = h.refs.get(slot) or h.refs.setdefault(slot, self.ref(li))
        # which names the row gives
        father: tuple[str, ...] = e.father
        if e.husband and lst.kind in ("ngo", "signup") and r() < 0.05:
            father = e.husband or father  # "father/husband name"
        has_father = r() < habits.father
        family_part = e.family if e.family and r() >= habits.family_missing else ""
        father_in_family = not e.family and r() < habits.father_as_family
        if father_in_family:
            has_father = has_father and r() < 0.3
        script = r()
        dari_only = script < habits.dari_only
        dari_also = not dari_only and script < habits.dari_only + habits.dari_also
        persian = dari_only and r() < 0.4
        if dari_only:
            arabic = r() < 0.15
            given = self.dari(e.given, arabic)
            father_text = self.dari(father, arabic) if has_father else ""
            family = self.dari((family_part,), arabic) if family_part else ""
            if father_in_family and not family:
                family = self.dari(father, arabic)
            native = " ".join(p for p in (given, family) if p)
        else:
            given = self.latin(e, e.given, habits, True)
            father_text = self.latin(e, father, habits, False) if has_father else ""
            family = self.spell(e, family_part, habits) if family_part else ""
            if father_in_family and not family:
                family = self.latin(e, father, habits, False)
            if r() < habits.typo:
                given = _typo(given, rng)
            if father_text and r() < habits.typo:
                father_text = _typo(father_text, rng)
            if family and r() < habits.typo:
                family = _typo(family, rng)
            if family and r() < habits.swap_names:
                given, family = family, given
            x = r()
            if x < habits.upper:
                given, father_text, family = given.upper(), father_text.upper(), family.upper()
            elif x < habits.upper + habits.lower:
                given, father_text, family = given.lower(), father_text.lower(), family.lower()
            native = ""
            if dari_also:
                native = self.dari(e.given, False)
                if e.family:
                    native += " " + self.dari((e.family,), False)
        x = r()
        sex = "" if x < habits.sex_missing else e.sex
        if habits.sex_missing <= x < habits.sex_missing + 0.003:
            sex = "F" if e.sex == "M" else "M"
        if e.dual and lst.country == e.dual:
            nationality = e.dual
        elif e.nat != "AF" and r() < 0.3:
            nationality = "AF"
        else:
            nationality = e.nat
        if not e.note and self.namesakes[e.key] > 1:
            e.note = "namesake"
        note = e.note
        return (
            lst.name,
            lst.kind,
            ref,
            rel,
            given,
            father_text,
            family,
            native,
            sex,
            self.dob(e, lst, habits, persian),
            self.passport(e, habits),
            self.phone(e, h, lst, habits, persian),
            nationality,
            note,
        )
