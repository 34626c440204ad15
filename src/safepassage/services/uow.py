"""The seam between the use cases and the store: what a unit of work offers.

Also how a use case that needs several transactions opens them.

A use case takes a ``UnitOfWork`` and runs ``with uow: ...; uow.commit()``; anything not
committed is rolled back when the block ends. A use case that works in several transactions
(an import commits batch by batch, linkage reads a snapshot and then writes its decisions)
takes a ``UnitOfWorkFactory`` instead and opens one unit of work per transaction.

The SQL adapter (``adapters/db/uow.py``) is the one implementation the product runs on; the
composition root (``bootstrap.System.uow``) is the factory. Tests of pure service logic may pass
a fake (``tests/fakes.py``) that supplies only the repositories the test needs.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from safepassage.adapters.db.auth_repo import (
        AuditRepository,
        HistoryRepository,
        SessionRepository,
        TokenRepository,
        UserRepository,
    )
    from safepassage.adapters.db.board_repo import BoardRepository
    from safepassage.adapters.db.intake_repo import IntakeRepository
    from safepassage.adapters.db.keys_repo import ProtectionRepository
    from safepassage.adapters.db.linkage_repo import LinkageRepository
    from safepassage.adapters.db.people_repo import PeopleRepository
    from safepassage.adapters.db.planning_repo import PlanningRepository
    from safepassage.adapters.db.processing_repo import ProcessingRepository
    from safepassage.adapters.db.repos import (
        FlightRepository,
        HouseholdRepository,
        NationRepository,
        OperationRepository,
        SiteRepository,
    )
    from safepassage.adapters.db.scans_repo import ScanRepository
    from safepassage.adapters.db.signup_repo import SignupRepository
    from safepassage.adapters.db.simulation_repo import SimulationRepository
    from safepassage.adapters.memory import Memory


class UnitOfWork(Protocol):
    """One transaction and the repositories that work inside it.

    The repositories are named by what they hold; they exist only inside the ``with`` block.
    ``readonly`` says the use case only reads (on SQLite it then never waits for the write
    lock); ``now`` is the operation's one clock.
    """

    people: PeopleRepository
    households: HouseholdRepository
    nations: NationRepository
    sites: SiteRepository
    flights: FlightRepository
    operation: OperationRepository
    users: UserRepository
    sessions: SessionRepository
    tokens: TokenRepository
    audit: AuditRepository
    history: HistoryRepository
    intake: IntakeRepository
    signups: SignupRepository
    linkage: LinkageRepository
    processing: ProcessingRepository
    scans: ScanRepository
    planning: PlanningRepository
    simulation: SimulationRepository
    board: BoardRepository
    protection: ProtectionRepository
    memory: Memory  # what the process keeps between requests (tokens, the line of stations)

    @property
    def readonly(self) -> bool:
        """Whether the use case only reads."""
        ...

    def now(self) -> dt.datetime:
        """The current time, from the operation's clock (UTC)."""
        ...

    def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        ...

    def rollback(self) -> None:
        """Drop everything done since the last commit."""
        ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a new unit of work: for use cases that need several transactions."""

    def __call__(self, readonly: bool = False) -> UnitOfWork:
        """A new unit of work; ``readonly`` for a use case that only reads."""
        ...
