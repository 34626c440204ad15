"""The unit of work: one transaction, the repositories that work inside it, commit or roll back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import TracebackType

import sqlalchemy as sa

from safepassage.adapters.db import audit_chain
from safepassage.adapters.db.auth_repo import (
    AuditRepository,
    HistoryRepository,
    SessionRepository,
    TokenRepository,
    UserRepository,
)
from safepassage.adapters.db.board_repo import BoardRepository
from safepassage.adapters.db.engine import READONLY
from safepassage.adapters.db.intake_repo import IntakeRepository
from safepassage.adapters.db.keys_repo import Keys, ProtectionRepository
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
from safepassage.domain.errors import SafepassageError


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit.

    On an engine in autocommit (the scanners' engine on PostgreSQL, ``make_scan_engine``) each
    statement is its own transaction and ``commit`` and ``rollback`` send nothing: only for a
    use case that writes in one statement and guards it against what may have changed since it
    read (a scan: see ``scans_repo``)."""

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

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        readonly: bool = False,
        memory: Memory | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.readonly = readonly  # only reads: on SQLite, no need to wait for the write lock
        self.memory = memory if memory is not None else Memory()
        self._conn: sa.Connection | None = None

    def now(self) -> dt.datetime:
        return self.clock()

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(**{READONLY: True})
        self._conn = conn
        conn.begin()
        self.people = PeopleRepository(conn, self.memory.key_sizes)
        self.households = HouseholdRepository(conn)
        self.nations = NationRepository(conn)
        self.sites = SiteRepository(conn)
        self.flights = FlightRepository(conn)
        self.operation = OperationRepository(conn)
        self.users = UserRepository(conn)
        self.sessions = SessionRepository(conn)
        self.tokens = TokenRepository(conn)
        self.audit = AuditRepository(conn)
        self.history = HistoryRepository(conn)
        self.intake = IntakeRepository(conn)
        self.signups = SignupRepository(conn)
        self.linkage = LinkageRepository(conn)
        self.processing = ProcessingRepository(conn)
        self.scans = ScanRepository(conn)
        self.planning = PlanningRepository(conn)
        self.simulation = SimulationRepository(conn)
        self.board = BoardRepository(conn)
        self.protection = ProtectionRepository(conn)
        return self

    @property
    def conn(self) -> sa.Connection:
        assert self._conn is not None, "use the unit of work inside a with block"
        return self._conn

    # After a commit or a rollback the next statement begins the next transaction by itself
    # (SQLAlchemy's autobegin): beginning it here would, on SQLite, take the write lock again for
    # nothing on every request that ends with a commit.
    def commit(self) -> None:
        wrote, self.audit.written = self.audit.written, False
        if wrote:
            audit_chain.before_commit(self.conn)  # SQLite: linked under the write lock
        self.conn.commit()
        if wrote:
            audit_chain.after_commit(self.conn)  # PostgreSQL: linked apart, see audit_chain
        keys = _keys(self.engine)
        if keys is not None:
            keys.settle(self.conn, committed=True)

    def rollback(self) -> None:
        self.audit.written = False
        self.conn.rollback()
        keys = _keys(self.engine)
        if keys is not None:
            keys.settle(self.conn, committed=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.conn
        try:
            conn.rollback()
            if isinstance(exc, sa.exc.StatementError) and isinstance(exc.orig, SafepassageError):
                raise exc.orig from exc  # a field that could not be sealed: the system's error
        finally:
            keys = _keys(self.engine)
            if keys is not None:
                keys.settle(conn, committed=False)  # what did not commit is not used
            conn.close()
            self._conn = None


def _keys(engine: sa.Engine) -> Keys | None:
    found = getattr(engine.dialect, "safepassage_vault", None)
    return found if isinstance(found, Keys) else None
