"""The audit trail kept as written: its head, a check of the chain, an export for an inquiry.

The chain itself (seals, positions, the linker) is ``adapters/db/audit_chain.py``. Checking it
writes no entry of its own and needs no key: it must still work after the keys are destroyed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safepassage.adapters import audit_export
from safepassage.adapters.db.audit_chain import Check, Head
from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import InvalidInput
from safepassage.services.common import audit, demand
from safepassage.services.uow import UnitOfWork, UnitOfWorkFactory


def shown_head(who: Principal, uow: UnitOfWork) -> Head | None:
    """The head of the chain as it stands, for the coordinators' audit page.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
    """
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        return uow.audit.head()


def head(who: Principal, uow: UnitOfWork) -> Head | None:
    """Link every committed entry, then the head of the chain: to be written down or sent out.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
    """
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        uow.audit.link()
        return uow.audit.head()


def parse_head(text: str) -> Head:
    """A head as written down (``POSITION:HASH``).

    Raises:
        InvalidInput: when ``text`` is not one.
    """
    try:
        return Head.parse(text)
    except ValueError as e:
        raise InvalidInput(str(e)) from e


def verify(who: Principal, uows: UnitOfWorkFactory, written: str | None = None) -> Check:
    """Link every committed entry, then check each against its seal and its place.

    ``written``, a head written down earlier, is checked against the chain too.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: when ``written`` is not a head.
    """
    earlier = parse_head(written) if written else None
    with uows() as uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        uow.audit.link()
    with uows(readonly=True) as snapshot:  # on SQLite a snapshot: no writer waits for the check
        return snapshot.audit.check(earlier)


MIN_PASSPHRASE = 12
"""Characters an export's passphrase needs at least: it is all that protects the export."""


@dataclass(frozen=True)
class Exported:
    """What an export holds: how many entries, and the head of the chain it ends at."""

    entries: int
    head: Head | None


def export(who: Principal, uows: UnitOfWorkFactory, out: Path, passphrase: str) -> Exported:
    """Export the whole audit trail for an inquiry, encrypted under ``passphrase``.

    Every committed entry is linked first; the export holds each entry with its position and
    seal and ``detail`` as stored as well, so that the chain can be checked from the export
    alone. The export itself is put on record.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: for a passphrase shorter than ``MIN_PASSPHRASE``.
        ConfigurationError: when ``out`` exists already.
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            f"the export's passphrase has {len(passphrase)} characters: give it "
            f"{MIN_PASSPHRASE} or more (it is all that protects the export)"
        )
    with uows() as uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        uow.audit.link()
    with uows(readonly=True) as snapshot:  # on SQLite a snapshot: no writer waits for the file
        top = snapshot.audit.head()
        n = audit_export.write(out, passphrase, (_entry(r) for r in snapshot.audit.all()))
    with uows() as uow:
        audit(uow, who, "audit.export", "audit", "", entries=n, head=str(top or ""), file=out.name)
        uow.commit()
    return Exported(n, top)


def read_export(path: Path, passphrase: str) -> Iterator[dict[str, Any]]:
    """The entries of an export made by ``export``, in the chain's order.

    Raises:
        Unreadable: when the passphrase is not the export's, or the file was changed.
    """
    return audit_export.read(path, passphrase)


def _entry(row: Any) -> dict[str, Any]:
    out = {k: v for k, v in row._mapping.items() if k != "stored_detail"}
    out["at"] = row.at.isoformat()
    raw = row.stored_detail
    # as stored, for the seals to be checked from the export alone: sealed bytes in base64
    out["detail_stored"] = (
        {"base64": base64.b64encode(raw).decode()} if isinstance(raw, bytes) else raw
    )
    return out
