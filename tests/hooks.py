"""Units of work that pause or fail at declared points, for the tests of what happens while a use
case is half-way: an import in progress, an import that fails, two reviewers at the same moment.

A point is a repository method by the name a use case calls it through its unit of work
(``"intake.add_rows"``, ``"linkage.pair"``):

* ``before`` and ``after`` run inside that call's transaction, just before or after it;
* ``between`` runs once the unit of work that made the call has ended, when the same thread
  opens its next one: outside any transaction, so that a pause there keeps nobody waiting for
  the database (on SQLite a unit of work that writes holds the write lock from its start).

The use case is given them through its own seam, the unit of work (or the factory, or the system
that makes them: :func:`hooked`), not by replacing any of its functions.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.adapters.memory import Memory
from safepassage.bootstrap import System

Action = Callable[[], object]  # what it returns is ignored


class Hooks:
    """What to do at which points; see the module's docstring."""

    def __init__(self) -> None:
        self._before: dict[str, list[Action]] = defaultdict(list)
        self._after: dict[str, list[Action]] = defaultdict(list)
        self._between: dict[str, list[Action]] = defaultdict(list)
        self._due = threading.local()  # this thread's ``between`` actions, run at its next open

    def before(self, point: str, action: Action) -> Hooks:
        self._before[point].append(action)
        return self

    def after(self, point: str, action: Action) -> Hooks:
        self._after[point].append(action)
        return self

    def between(self, point: str, action: Action) -> Hooks:
        self._between[point].append(action)
        return self

    def repositories(self) -> set[str]:
        """The repositories with a point to watch."""
        points = [*self._before, *self._after, *self._between]
        return {p.split(".", 1)[0] for p in points}

    def watches(self, point: str) -> bool:
        return point in self._before or point in self._after or point in self._between

    def call(self, point: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for action in self._before.get(point, []):
            action()
        out = method(*args, **kwargs)
        for action in self._after.get(point, []):
            action()
        return out

    def ended(self, called: set[str]) -> None:
        """A unit of work of this thread that called ``called`` has ended."""
        due: list[Action] = getattr(self._due, "actions", [])
        due += [a for point in sorted(called) for a in self._between.get(point, [])]
        self._due.actions = due

    def opening(self) -> None:
        """This thread opens a unit of work: what is due runs first."""
        due: list[Action] = getattr(self._due, "actions", [])
        self._due.actions = []
        for action in due:
            action()


class _Watched:
    """A repository whose watched methods go through the hooks."""

    def __init__(self, repository: Any, name: str, uow: HookedUnitOfWork) -> None:
        self._repository = repository
        self._name = name
        self._uow = uow

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._repository, attr)
        point = f"{self._name}.{attr}"
        hooks = self._uow.hooks
        if not callable(value) or not hooks.watches(point):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._uow.called.add(point)
            return hooks.call(point, value, *args, **kwargs)

        return call


class HookedUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work, its repositories' watched methods going through ``hooks``."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime],
        readonly: bool,
        memory: Memory,
        hooks: Hooks,
    ) -> None:
        super().__init__(engine, clock, readonly, memory)
        self.hooks = hooks
        self.called: set[str] = set()

    def __enter__(self) -> HookedUnitOfWork:
        self.hooks.opening()
        super().__enter__()
        for name in self.hooks.repositories():
            setattr(self, name, _Watched(getattr(self, name), name, self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            called, self.called = self.called, set()
            self.hooks.ended(called)


@dataclass
class HookedSystem(System):
    """A system whose unit-of-work factory applies ``hooks``."""

    hooks: Hooks = field(default_factory=Hooks)

    def uow(self, readonly: bool = False) -> SqlUnitOfWork:
        self._unlocked()
        return HookedUnitOfWork(self.engine, self.clock, readonly, self.memory, self.hooks)


def hooked(system: System, hooks: Hooks) -> HookedSystem:
    """The same system (its database, clock, memory and keys), its units of work applying
    ``hooks``."""
    return HookedSystem(
        system.settings,
        system.engine,
        system.clock,
        system.scan_engine,
        system.memory,
        vault=system.vault,
        hooks=hooks,
    )
