"""Public sign-up: a household registers itself, without an account, and gets a receipt code.

People registered this way are *self-declared* (``person.self_declared``) until staff confirm
them. They are on no nation's list and have no sponsor, so only a coordinator sees them at first.
The receipt code is shown once and only its SHA-256 is kept; checking a code tells the number of
persons and the household's status, never a name, so a photo of a receipt gives nobody's identity
away. Everything here runs as the SYSTEM principal, with the client's address as its source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from safepassage.domain.access import Principal
from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.people import Person, Relationship
from safepassage.services.common import SYSTEM, UnitOfWork, audit
from safepassage.services.person_input import PersonInput, initial_changes, to_person

MAX_MEMBERS = 12
"""Members besides the head that one sign-up may register."""

CODE_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ2346789"
"""Letters and digits that cannot be mistaken for one another when read aloud or from a photo
(no 0/O, 1/I, 5/S)."""
CODE_LENGTH = 10
HISTORY_ACTION = "self-declared by sign-up"


@dataclass(frozen=True)
class Receipt:
    """What the person who signed up takes away: the code (shown once, never stored)."""

    code: str  # "XXXXX-XXXXX"
    household_id: int
    persons: int


@dataclass(frozen=True)
class ReceiptStatus:
    """What a receipt code tells: how many persons and where they stand; no names."""

    persons: int
    status: str  # the members' status if they share one, else "mixed"
    statuses: dict[str, int]  # status -> number of persons
    confirmed: bool  # False while any member is still self-declared
    registered_on: dt.date


def new_code() -> str:
    """A random receipt code, grouped for reading: ``XXXXX-XXXXX`` (about 49 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str | None:
    """The code as stored (upper case, no separators), or None if it cannot be a receipt."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return raw


def code_hash(code: str) -> str:
    """The SHA-256 kept for a receipt code, however it was typed; ValueError if it is none."""
    raw = normalise_code(code)
    if raw is None:
        raise ValueError("not a receipt code")
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def _public(source: str) -> Principal:
    """The principal the public's requests are recorded under."""
    return dataclasses.replace(SYSTEM, source=(source or "")[:64])


def _validate(
    head: PersonInput, members: Sequence[tuple[PersonInput, str]], today: dt.date
) -> tuple[Person, list[tuple[Person, Relationship]]]:
    """Every person checked at once; InvalidInput lists every problem (members' prefixed)."""
    errors: list[FieldError] = []
    if len(members) > MAX_MEMBERS:
        errors.append(
            FieldError(
                "members",
                f"one sign-up registers at most {MAX_MEMBERS} members besides the head; "
                "register the others separately",
            )
        )

    def public(cmd: PersonInput) -> PersonInput:  # the public puts nobody on a list
        return dataclasses.replace(cmd, sponsoring_nation=None, sponsor_org=None)

    head_person: Person | None = None
    try:
        head_person = to_person(public(head), today)
    except InvalidInput as e:
        errors.extend(e.errors)
    if not (head.phone or "").strip() and not any((d.number or "").strip() for d in head.documents):
        errors.append(
            FieldError(
                "phone",
                "give a phone number or a tazkira or passport number: staff use it to "
                "check that a receipt is yours",
            )
        )
    out: list[tuple[Person, Relationship]] = []
    for i, (cmd, rel) in enumerate(members[:MAX_MEMBERS], start=1):
        person: Person | None = None
        try:
            person = to_person(public(cmd), today)
        except InvalidInput as e:
            errors.extend(
                FieldError(f"members.{i}.{x.field}", f"member {i}: {x.message}") for x in e.errors
            )
        try:
            relationship = Relationship(rel)
            if relationship is Relationship.HEAD:
                raise ValueError
        except ValueError:
            errors.append(
                FieldError(
                    f"members.{i}.relationship",
                    f"member {i}: choose how this person is related to the head of the household",
                )
            )
        else:
            if person is not None:
                out.append((person, relationship))
    check(errors)
    assert head_person is not None
    return head_person, out


def register_household(
    head: PersonInput,
    members: list[tuple[PersonInput, str]],
    source: str,
    uow: UnitOfWork,
) -> Receipt:
    """Register a household as typed by one of its members, and give them its receipt.

    Nothing is saved unless every person is valid. One transaction: people, household,
    self-declared flags, history, the receipt's hash and the audit entry.

    Raises:
        InvalidInput: listing every problem, a member's prefixed with ``members.<n>.``.
    """
    who = _public(source)
    with uow:
        now = uow.now()
        head_person, member_people = _validate(head, members, now.date())
        people = [head_person, *(p for p, _ in member_people)]
        ids = uow.people.add_many(people, now)
        uow.signups.mark_self_declared(ids)
        (hid,) = uow.households.add_numbered([ids[0]], now)
        plan = [(ids[0], Relationship.HEAD.value)] + [
            (pid, rel.value) for pid, (_, rel) in zip(ids[1:], member_people, strict=True)
        ]
        uow.people.set_households([(pid, hid, rel) for pid, rel in plan], now)
        uow.history.add_many(
            [
                {
                    "entity": "person",
                    "entity_id": pid,
                    "at": now,
                    "username": who.username,
                    "action": HISTORY_ACTION,
                    "changes": {**initial_changes(p), "self_declared": [None, True]},
                }
                for pid, p in zip(ids, people, strict=True)
            ]
            + [
                {
                    "entity": "household",
                    "entity_id": hid,
                    "at": now,
                    "username": who.username,
                    "action": HISTORY_ACTION,
                    "changes": {"members": [None, [list(m) for m in plan]]},
                }
            ]
        )
        code = new_code()
        while uow.signups.receipt_taken(code_hash(code)):
            code = new_code()  # about one chance in 10^14 per household already registered
        uow.signups.add(code_hash(code), hid, ids[0], now, who.source, len(ids))
        audit(uow, who, "signup", "household", hid, persons=ids)
        uow.commit()
        return Receipt(code, hid, len(ids))


def check_receipt(code: str, uow: UnitOfWork, source: str = "") -> ReceiptStatus | None:
    """The household behind a receipt code, as counts and a status; None if there is none.

    Every check is audited (a run of unknown codes from one address is someone guessing).
    """
    who = _public(source)
    raw = normalise_code(code)
    with uow:
        row = uow.signups.by_receipt(code_hash(raw)) if raw else None
        if row is None:
            audit(uow, who, "signup.receipt", "household", "", outcome="not_found")
            uow.commit()
            return None
        members = uow.signups.household_statuses(row.household_id)
        statuses = Counter(m.status for m in members)
        audit(uow, who, "signup.receipt", "household", row.household_id)
        uow.commit()
        return ReceiptStatus(
            persons=len(members),
            status=next(iter(statuses)) if len(statuses) == 1 else "mixed",
            statuses=dict(statuses.most_common()),
            confirmed=not any(m.self_declared for m in members),
            registered_on=row.created_at.date(),
        )


def record_refusal(action: str, reason: str, source: str, uow: UnitOfWork) -> None:
    """A public request refused (too many from one address, a form not from our page)."""
    with uow:
        audit(uow, _public(source), action, "household", "", outcome="denied", reason=reason)
        uow.commit()
