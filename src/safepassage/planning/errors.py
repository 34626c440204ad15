"""Planning's errors: a ``PlanningError`` is the base; ``SolverFailed`` when a backend could not
run the model (a fault, not an infeasible plan: an empty plan is always feasible)."""

from __future__ import annotations

from safepassage.domain.errors import SafepassageError


class PlanningError(SafepassageError):
    pass


class SolverFailed(PlanningError):
    pass
