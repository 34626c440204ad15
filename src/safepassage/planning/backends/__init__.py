"""Solver backends: a ``Milp`` goes in, a ``MilpSolution`` comes out.

The planning model (``planning/model.py``) writes its program in these plain types (NumPy arrays,
column by column), so that no solver's type reaches the model or the callers, and another
solver (OR-Tools, say) needs only a new module here that reads a ``Milp``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Milp:
    """Maximise ``cost · x`` subject to ``row_lower ≤ A x ≤ row_upper`` and
    ``0 ≤ x ≤ upper``, every ``x`` integer.

    ``A`` is given column by column: column ``j`` has the entries ``starts[j]:starts[j + 1]``
    of ``index`` (its rows) and ``value``.
    """

    cost: Floats
    upper: Floats
    row_lower: Floats
    row_upper: Floats
    starts: Ints
    index: Ints
    value: Floats
    first: Ints | None = None
    """Columns the relaxation may start from; the others are priced in as they are worth it
    (column generation). None: all of them."""
    integer: bool = True

    @property
    def size(self) -> tuple[int, int, int]:
        """Columns, rows and non-zeros."""
        return len(self.cost), len(self.row_lower), len(self.value)

    def columns(self, which: Ints) -> tuple[Ints, Ints, Floats]:
        """The column-wise arrays (starts, index, value) of the columns ``which``."""
        lengths = self.starts[which + 1] - self.starts[which]
        starts = np.zeros(len(which) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        take = np.repeat(self.starts[which] - starts[:-1], lengths) + np.arange(starts[-1])
        return starts, self.index[take], self.value[take]

    def reduced_costs(self, row_dual: Floats) -> Floats:
        """``cost - Aᵀy``: what one more unit of each column would add at these row prices."""
        priced = np.add.reduceat(self.value * row_dual[self.index], self.starts[:-1])
        empty = self.starts[1:] == self.starts[:-1]
        priced[empty] = 0.0
        return self.cost - priced


@dataclass(frozen=True)
class MilpSolution:
    found: bool
    values: Floats
    objective: float
    message: str
    details: dict[str, float] = field(default_factory=dict)
    bound: float = float("inf")
    """What the solver proved nothing beats (the branch and bound's dual bound)."""


Progress = Callable[[str, float | None], None]
"""Told what the planner is doing and, when known, how far from the bound it is (a fraction)."""


class Backend(Protocol):
    name: str

    def relax(self, milp: Milp, *, time_limit_s: float, threads: int) -> MilpSolution:
        """The optimum of ``milp``'s linear relaxation (integrality dropped): a bound no whole
        solution beats, and a solution to round."""
        ...

    def solve(
        self, milp: Milp, *, start: Floats | None, time_limit_s: float, gap: float, threads: int
    ) -> MilpSolution:
        """Whole solutions of ``milp`` by branch and bound, from ``start`` if given: for small
        programs, where rounding the relaxation can be far from the best."""
        ...
