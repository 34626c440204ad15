"""Solver backends: a ``Milp`` goes in, a ``MilpSolution`` comes out.

The planning model (``planning/solve.py``) writes its mixed-integer program in these plain
types, so that no solver's type reaches the model or the callers, and another solver (OR-Tools'
CP-SAT, say) needs only a new module here that reads a ``Milp``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Milp:
    """Maximise ``cost · x`` subject to ``row_lower ≤ A x ≤ row_upper`` and bounds on ``x``.

    ``A`` is given row by row: row ``i`` has the entries ``starts[i]:starts[i + 1]`` of
    ``columns`` and ``values``.
    """

    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])
    columns: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    start: list[float] | None = None
    """A feasible solution to start from, if known (the previous plan, on a re-plan)."""

    def add_var(self, cost: float, upper: float, integer: bool = True, lower: float = 0.0) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1

    def add_row(
        self, columns: Sequence[int], values: Sequence[float], lower: float, upper: float
    ) -> int:
        self.columns.extend(columns)
        self.values.extend(values)
        self.starts.append(len(self.columns))
        self.row_lower.append(lower)
        self.row_upper.append(upper)
        return len(self.row_lower) - 1

    @property
    def size(self) -> tuple[int, int, int]:
        """Columns, rows and non-zeros."""
        return len(self.cost), len(self.row_lower), len(self.values)


@dataclass(frozen=True)
class MilpSolution:
    found: bool
    proven: bool
    """Within the asked gap of the bound (or optimal)."""
    values: list[float]
    objective: float
    bound: float
    message: str


Progress = Callable[[str, float | None], None]
"""Told what the solver is doing and, when known, how far from the bound it is (a fraction)."""


class Backend(Protocol):
    name: str

    def solve(
        self,
        milp: Milp,
        *,
        time_limit_s: float,
        gap: float,
        threads: int,
        progress: Progress | None = None,
        relax: bool = False,
    ) -> MilpSolution:
        """Solve ``milp``, or with ``relax`` its linear relaxation (integrality dropped)."""
        ...


INFINITY = float("inf")
