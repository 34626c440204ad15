"""HiGHS (``highspy``), the default backend: an open-source LP/MIP solver (MIT licence).

The relaxation is solved by dual simplex without presolve (measured fastest on the planning
model) with column generation: it starts from the columns the model suggests, and adds the
columns whose reduced cost at the current row prices is positive, hot-starting from the last
basis, until none is: then the optimum is the optimum of the whole relaxation. The program is
passed in column-wise arrays, never variable by variable through the modelling layer.
"""

from __future__ import annotations

import threading
import time

import highspy
import numpy as np

from safepassage.planning.backends import Milp, MilpSolution

_lock = threading.Lock()  # one HiGHS run at a time per process: the machine has two cores
PRICE_TOLERANCE = 1e-7
BATCH = 20_000
"""Columns added at most per pricing round, the most attractive first."""


class HighsBackend:
    name = "highs"

    def relax(self, milp: Milp, *, time_limit_s: float, threads: int) -> MilpSolution:
        n = len(milp.cost)
        active = np.arange(n) if milp.first is None else np.unique(milp.first)
        if len(active) == 0:  # nothing to start from (only spare seats): price from all
            active = np.arange(n)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("presolve", "off")
        h.passModel(_lp(milp, active))
        rounds = 0
        with _lock:
            started = time.monotonic()  # the limit runs from here, not while waiting
            while True:
                h.setOptionValue(
                    "time_limit", max(0.1, time_limit_s - (time.monotonic() - started))
                )
                h.run()
                status = h.getModelStatus()
                if status != highspy.HighsModelStatus.kOptimal:
                    return MilpSolution(False, np.zeros(n), 0.0, h.modelStatusToString(status))
                rounds += 1
                dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
                rc = milp.reduced_costs(dual)
                rc[active] = 0.0
                scale = max(1.0, float(np.abs(milp.cost).max(initial=1.0)))
                better = np.flatnonzero(rc > PRICE_TOLERANCE * scale)
                if len(better) == 0:
                    break
                if len(better) > BATCH:
                    better = better[np.argsort(-rc[better])[:BATCH]]
                better.sort()
                starts, index, value = milp.columns(better)
                h.addCols(
                    len(better),
                    milp.cost[better],
                    np.zeros(len(better)),
                    milp.upper[better],
                    len(index),
                    starts[:-1].astype(np.int32),
                    index.astype(np.int32),
                    value,
                )
                active = np.concatenate([active, better])
        values = np.zeros(n)
        values[active] = np.asarray(h.getSolution().col_value)
        objective = float(h.getInfo().objective_function_value)
        return MilpSolution(
            True,
            values,
            objective,
            "optimal",
            {"columns_used": float(len(active)), "pricing_rounds": float(rounds)},
        )

    def solve(
        self, milp: Milp, *, start: np.ndarray | None, time_limit_s: float, gap: float, threads: int
    ) -> MilpSolution:
        n = len(milp.cost)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("random_seed", 7)
        lp = _lp(milp, np.arange(n))
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        h.passModel(lp)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = list(start)
            solution.value_valid = True
            h.setSolution(solution)
        with _lock:
            h.run()
        info = h.getInfo()
        found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        bound = float(info.mip_dual_bound)
        return MilpSolution(
            found,
            np.asarray(h.getSolution().col_value) if found else np.zeros(n),
            float(info.objective_function_value) if found else 0.0,
            h.modelStatusToString(h.getModelStatus()),
            bound=bound if np.isfinite(bound) else float("inf"),
        )


def _lp(milp: Milp, columns: np.ndarray) -> highspy.HighsLp:
    starts, index, value = milp.columns(columns)
    lp = highspy.HighsLp()
    lp.num_col_ = len(columns)
    lp.num_row_ = len(milp.row_lower)
    lp.col_cost_ = milp.cost[columns]
    lp.col_lower_ = np.zeros(len(columns))
    lp.col_upper_ = milp.upper[columns]
    lp.row_lower_ = milp.row_lower
    lp.row_upper_ = milp.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = len(columns)
    lp.a_matrix_.num_row_ = len(milp.row_lower)
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = value
    return lp
