"""The real people of the labelled linkage set: a seeded stream of households, and which list
entries each person is on.

Real people (entities) come in households: a head (a man in 88 of 100 families; otherwise a
widow), a spouse, children aged 0-25 born one to three and a half years apart (12 of 100 gaps
under 13 months), sometimes an elderly parent (10%) or a sibling of the head (8%); 14 of 100
households are one person. A family name is used by 60 of 100 households; a wife takes her
husband's about as often as she keeps her own or has none. Children's father's name is the
head's given name (a widow's late husband's otherwise); siblings share the head's father.
Namesakes (same given and father's name) therefore arise by themselves, as they do in Kabul: in
a 20,000-row set four people in ten share theirs with someone, and several hundred also share
the birth year. Twins are added on purpose (2.5 of 100 births, more than nature's 1.5, as they
are the hardest case; 40 of 100 pairs get rhyming names such as Hassan and Hussain, Jawad and
Fawad, Farid and Farida).

Many adults do not know their birth day (45 of 100 born before 1990, 25 of 100 before 2005):
their tazkira gives a Solar Hijri year, and their passport says 1 January of the Gregorian year
621 (or 622) years later, a day outside that Solar Hijri year. 55 of 100 adults and 25 of 100
children hold a passport (P and 7 or 8 digits; 4 of 100 holders renewed it and lists give
either number); adults have one or two phones, a family's lists often give the head's phone for
everyone, and a few helpers signed up many families with their own phone.

Each entity appears on 1-4 lists (about 55% once, 30% twice, 12% three times, 3% four times),
taken from a pool of four list entries per household: 85 of 100 people are on the first ones
(a family registers together, on its main list first), the others on any. A household can be on
the self sign-up twice (submitted twice, under two references), and an adult child is sometimes
registered as the head of his own family number (15-30 of 100 rows, by list).
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate, permutations

import jdatetime

from safepassage.synthetic.linkage_lists import EMBASSY_OF, FIRST_LIST, OTHER_LIST, SIGNUP, TODAY
from safepassage.synthetic.linkage_names import (
    FAMILY_Z,
    FEMALE_Z,
    MALE_Z,
    PREFIX_CUM,
    PREFIXES,
    SECOND_Z,
    TWIN_NAMES,
)

TWIN_BIRTHS = 0.025
"""Share of births in a family that are twins (set high on purpose: twins are hard)."""


class Entity:
    """One real person: names as canonical table keys, and what is true of them."""

    __slots__ = (
        "age",
        "day_known",
        "dob",
        "dual",
        "eid",
        "family",
        "father",
        "given",
        "greg_year",
        "honor",
        "husband",
        "key",
        "nat",
        "note",
        "passports",
        "phones",
        "pref",
        "rel",
        "rows",
        "sex",
        "sh",
        "slots",
    )

    def __init__(
        self, rel: str, sex: str, given: tuple[str, ...], father: tuple[str, ...], age: float
    ) -> None:
        self.rel = rel
        self.sex = sex
        self.given = given
        self.honor = ""
        self.father = father
        self.husband: tuple[str, ...] = ()
        self.family = ""
        self.nat = "AF"
        self.dual = ""
        self.note = ""
        self.passports: tuple[str, ...] = ()
        self.phones: tuple[str, ...] = ()
        self.slots: tuple[int, ...] = ()
        self.pref: dict[str, str] = {}
        self.eid = 0
        self.rows = 0
        self.age = age
        self.dob = TODAY
        self.day_known = True
        self.sh = (0, 0, 0)
        self.greg_year = 0
        self.key = ""


class Household:
    """A family: its members (head first), the four list entries it may be on, its phone."""

    __slots__ = ("helper", "members", "phone", "pool", "refs")

    def __init__(self) -> None:
        self.members: list[Entity] = []
        self.pool: list[int] = []
        self.phone = ""
        self.helper = ""
        self.refs: dict[int, str] = {}


_APPEARANCES = tuple(accumulate((55, 30, 12, 3)))
_SLOT_WEIGHTS = (8, 4, 2, 1)
_CHILDREN_CUM = tuple(accumulate((10, 10, 14, 16, 15, 12, 9, 7, 7)))
_OWN_PHONE = {"head": 1.0, "spouse": 0.4, "parent": 0.2}
_EMBASSIES = tuple(EMBASSY_OF)


@lru_cache(maxsize=65536)
def jalali(day: dt.date) -> tuple[int, int, int]:
    """The Solar Hijri date of a Gregorian day, through jdatetime's public API.

    A jdatetime object costs about 7 µs (it asks the locale each time), four times the bare
    converter it wraps; cached by day, a set of any size pays it once per distinct birthday
    (about 22,000 for 120,000 rows: 0.15 s)."""
    j = jdatetime.date.fromgregorian(date=day)
    return j.year, j.month, j.day


class People:
    """The seeded household stream: the same seed gives the same people in both passes.

    Two random streams: one for who is in a household, their names, ages and number of rows
    (all the counting pass needs), one for the rest (dates as known, documents, phones, lists),
    drawn only when ``full``.
    """

    def __init__(self, seed: int, full: bool = True) -> None:
        self.rng = random.Random(f"people/{seed}")
        self.arng = random.Random(f"attributes/{seed}")
        self.full = full
        self.eid = 0
        self.passport7 = 0
        self.passport8 = 0
        self.phones = 0
        self.helper = ""
        self.helper_left = 0

    # names -----------------------------------------------------------------------------------

    def male(self) -> tuple[str, ...]:
        r = self.rng.random
        if r() < 0.33:
            prefix = PREFIXES[bisect(PREFIX_CUM, r() * PREFIX_CUM[-1])]
            return (prefix, SECOND_Z.draw(r))
        return (MALE_Z.draw(r),)

    def female(self) -> tuple[str, ...]:
        return (FEMALE_Z.draw(self.rng.random),)

    def given(self, sex: str, taken: set[tuple[str, ...]]) -> tuple[str, ...]:
        for _ in range(6):  # parents do not give two children the same name
            name = self.male() if sex == "M" else self.female()
            if name not in taken:
                break
        taken.add(name)
        return name

    # numbers: unique, from a counter through a bijection, so no two people share one ---------

    def passport(self) -> str:
        if self.arng.random() < 0.7:
            self.passport8 += 1
            return f"P{(self.passport8 * 7_919_371 + 3_141_592) % 10**8:08d}"
        self.passport7 += 1
        return f"P{(self.passport7 * 7_919_371 + 2_718_281) % 10**7:07d}"

    def phone(self) -> str:
        self.phones += 1
        return f"+937{(self.phones * 48_271_207 + 12_345_678) % 10**8:08d}"

    # people ----------------------------------------------------------------------------------

    def household(self) -> Household:
        rng, r = self.rng, self.rng.random
        h = Household()
        family = FAMILY_Z.draw(r) if r() < 0.6 else ""
        grandfather = self.male()
        single = r() < 0.14
        head_sex = ("M" if r() < 0.85 else "F") if single else ("M" if r() < 0.88 else "F")
        head_age = rng.uniform(18, 35) if single else rng.triangular(22, 70, 34)
        taken: set[tuple[str, ...]] = set()
        head = Entity("head", head_sex, self.given(head_sex, taken), grandfather, head_age)
        members = [head]
        mother_age = head_age
        father_of_children = head.given
        if not single:
            if head_sex == "M":
                if r() < 0.92:
                    age = max(17.0, head_age - rng.uniform(0, 12))
                    spouse = Entity("spouse", "F", self.female(), self.male(), age)
                    spouse.husband = head.given
                    x = r()
                    spouse.family = family if x < 0.5 else FAMILY_Z.draw(r) if x < 0.7 else ""
                    members.append(spouse)
                    mother_age = age
                else:
                    mother_age = head_age - 5
            else:  # a widow heads the family; the children carry their late father's name
                father_of_children = self.male()
                head.husband = father_of_children
            mother_age = max(mother_age, 17.0)
            n = bisect(_CHILDREN_CUM, r() * _CHILDREN_CUM[-1])
            age = mother_age - rng.uniform(17, 27)
            for _ in range(n):
                if age <= 0:
                    break
                if age <= 25:
                    if r() < TWIN_BIRTHS:
                        members.extend(self.twins(father_of_children, age, taken))
                    else:
                        sex = "M" if r() < 0.51 else "F"
                        name = self.given(sex, taken)
                        members.append(Entity("child", sex, name, father_of_children, age))
                age -= rng.uniform(0.8, 1.05) if r() < 0.12 else rng.uniform(1.2, 3.5)
            if r() < 0.10:
                age = head_age + rng.uniform(20, 35)
                if age < 95:
                    if r() < 0.5:
                        parent = Entity("parent", "M", grandfather, self.male(), age)
                    else:
                        parent = Entity("parent", "F", self.female(), self.male(), age)
                    members.append(parent)
            if r() < 0.08:
                sex = "M" if r() < 0.5 else "F"
                age = min(70.0, max(14.0, head_age + rng.uniform(-12, 12)))
                members.append(Entity("sibling", sex, self.given(sex, taken), grandfather, age))
        for e in members:
            if e.rel != "spouse" and not (e.rel == "parent" and e.sex == "F"):
                e.family = family
            elif e.rel == "parent":
                e.family = FAMILY_Z.draw(r) if r() < 0.3 else ""
            self.eid += 1
            e.eid = self.eid
            e.rows = bisect(_APPEARANCES, r() * _APPEARANCES[-1]) + 1
            e.key = _namesake_key(e)
        h.members = members
        if self.full:
            self.attributes(h)
        return h

    def twins(
        self, father: tuple[str, ...], age: float, taken: set[tuple[str, ...]]
    ) -> tuple[Entity, Entity]:
        r = self.rng.random
        pair = self.rng.choice(TWIN_NAMES)
        names: list[tuple[tuple[str, ...], str]]
        if r() < 0.4 and (pair[0],) not in taken and (pair[2],) not in taken:
            names = [((pair[0],), pair[1]), ((pair[2],), pair[3])]
            taken.update(n for n, _ in names)
        else:
            s1 = "M" if r() < 0.5 else "F"
            s2 = s1 if r() < 0.65 else ("F" if s1 == "M" else "M")
            names = [(self.given(s1, taken), s1), (self.given(s2, taken), s2)]
        first = Entity("child", names[0][1], names[0][0], father, age)
        second = Entity("child", names[1][1], names[1][0], father, age)
        first.note = second.note = "twin"
        return first, second

    def attributes(self, h: Household) -> None:
        """Dates as known, documents, phones, nationality, and the lists the household is on."""
        rng, r = self.arng, self.arng.random
        twin_of: dict[float, Entity] = {}
        for e in h.members:
            e.dob = TODAY - dt.timedelta(days=max(1, int(e.age * 365.25)))
            e.sh = jalali(e.dob)
            first = twin_of.get(e.age) if e.note == "twin" else None
            if first is not None:  # twins: known to the day, or not, together
                e.day_known, e.greg_year = first.day_known, first.greg_year
            else:
                twin_of[e.age] = e
                y = e.dob.year
                e.day_known = r() >= (0.45 if y < 1990 else 0.25 if y < 2005 else 0.10)
                e.greg_year = (
                    y if e.day_known else min(TODAY.year, e.sh[0] + (621 if r() < 0.8 else 622))
                )
            if r() < 0.04:
                e.honor = "Khan" if e.sex == "M" else "Jan"
            if r() < (0.55 if e.age >= 18 else 0.25):
                e.passports = (
                    (self.passport(),) if r() >= 0.04 else (self.passport(), self.passport())
                )
            own = _OWN_PHONE.get(e.rel, 0.5 if e.age >= 16 else 0.0)
            if r() < own:
                e.phones = (self.phone(),) if r() >= 0.2 else (self.phone(), self.phone())
        # nationality: a few families hold a Western passport too; a few wives are Iranian etc.
        dual = rng.choice(_EMBASSIES) if r() < 0.02 else ""
        for e in h.members:
            if dual and (e.rel in ("head", "child") or r() < 0.5):
                e.dual = dual
            elif e.rel == "spouse" and r() < 0.03:
                e.nat = rng.choice(("IR", "PK", "TJ", "UZ"))
        head = h.members[0]
        h.phone = head.phones[0] if head.phones else self.phone()
        if self.helper_left <= 0 and r() < 0.01:  # a helper signs up 5-20 families
            self.helper, self.helper_left = self.phone(), rng.randint(5, 20)
        if self.helper_left > 0:
            h.helper, self.helper_left = self.helper, self.helper_left - 1
        h.pool = self.pool(dual)
        for e in h.members:
            e.slots = self.slots(e.rows)

    def pool(self, dual: str) -> list[int]:
        """The household's four list entries, its main list first; the self sign-up may come
        twice (submitted twice), other lists once."""
        r = self.arng.random
        pool: list[int] = [EMBASSY_OF[dual]] if dual else []
        while len(pool) < 4:
            lists, cum = FIRST_LIST if not pool else OTHER_LIST
            i = lists[bisect(cum, r() * cum[-1])]
            if i not in pool or (i == SIGNUP and pool.count(i) < 2):
                pool.append(i)
        return pool

    def slots(self, k: int) -> tuple[int, ...]:
        """Which ``k`` of the household's four list entries the person is on: mostly the first
        ``k`` (the family registers together, the main list first), else any ``k``."""
        r = self.arng.random
        if r() < 0.85:
            return _FIRST[k]
        subsets, cum = _SUBSETS[k]
        return subsets[bisect(cum, r() * cum[-1])]


def _subsets(k: int) -> tuple[tuple[tuple[int, ...], ...], tuple[float, ...]]:
    """The k-subsets of the pool with their chances when entries are drawn one by one, without
    putting back, with weights 8:4:2:1 (the first entry is the family's main list)."""
    chance: dict[tuple[int, ...], float] = defaultdict(float)
    for order in permutations(range(4), k):
        p, left = 1.0, sum(_SLOT_WEIGHTS)
        for i in order:
            p *= _SLOT_WEIGHTS[i] / left
            left -= _SLOT_WEIGHTS[i]
        chance[tuple(sorted(order))] += p
    subsets = tuple(sorted(chance))
    return subsets, tuple(accumulate(chance[s] for s in subsets))


_SUBSETS = {k: _subsets(k) for k in (1, 2, 3, 4)}
_FIRST = {k: tuple(range(k)) for k in (1, 2, 3, 4)}


def _namesake_key(e: Entity) -> str:
    """Canonical given and father's name; the honorific Khan/Jan is not part of it."""
    return f"{' '.join(e.given)}|{' '.join(e.father)}".lower()


def appearances(
    people: People, records: int
) -> Iterator[tuple[Household, list[tuple[Entity, int]]]]:
    """Households with their (entity, slot) rows, cut so that exactly ``records`` rows exist."""
    left = records
    while left > 0:
        h = people.household()
        if people.full:
            rows = [(e, s) for e in h.members for s in e.slots][:left]
        else:
            rows = [(e, 0) for e in h.members for _ in range(e.rows)][:left]
        left -= len(rows)
        yield h, rows
