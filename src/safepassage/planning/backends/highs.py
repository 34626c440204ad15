"""HiGHS (``highspy``), the default backend: an open-source MIP solver that proves its bound.

The whole program is passed at once in column-wise arrays (``passModel``), never variable by
variable through the modelling layer, which costs seconds at this size.
"""

from __future__ import annotations

import threading
import time

import highspy
import numpy as np

from safepassage.planning.backends import Milp, MilpSolution, Progress
from safepassage.planning.errors import SolverFailed

_SOLVED = {
    highspy.HighsModelStatus.kOptimal,
}
_STOPPED = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kSolutionLimit,
    highspy.HighsModelStatus.kIterationLimit,
}
_lock = threading.Lock()  # one HiGHS run at a time per process: the machine has two cores


class HighsBackend:
    name = "highs"

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
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("random_seed", 7)
        lp = _lp(milp, relax)
        if relax:
            # dual simplex without presolve: measured fastest on the planning relaxation
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("presolve", "off")
        h.passModel(lp)
        if milp.start is not None and not relax:
            h.setSolution(_solution(milp.start))
        if progress is not None and not relax:
            started = time.monotonic()
            last = [0.0]

            def improved(event: highspy.cb.HighsCallbackEvent) -> None:
                now = time.monotonic()
                if now - last[0] < 0.2:
                    return
                last[0] = now
                out = event.data_out
                progress(
                    f"solving: a plan found, {now - started:.1f} s",
                    float(out.mip_gap) if np.isfinite(out.mip_gap) else None,
                )

            h.cbMipImprovingSolution.subscribe(improved)
        with _lock:
            status = h.run()
        if status == highspy.HighsStatus.kError:
            raise SolverFailed("HiGHS stopped with an error on the planning model")
        model_status = h.getModelStatus()
        info = h.getInfo()
        found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        values = list(h.getSolution().col_value) if found else []
        objective = float(info.objective_function_value) if found else 0.0
        bound = objective if relax else float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = float("inf")  # stopped before the solver proved a bound
        return MilpSolution(
            found=found,
            proven=model_status in _SOLVED,
            values=values,
            objective=objective,
            bound=bound,
            message=h.modelStatusToString(model_status)
            + ("" if model_status in _SOLVED | _STOPPED else " (HiGHS)"),
        )


def _lp(milp: Milp, relax: bool) -> highspy.HighsLp:
    n = len(milp.cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(milp.row_lower)
    lp.col_cost_ = np.asarray(milp.cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(milp.lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(milp.upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(milp.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(milp.row_upper, dtype=np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(milp.row_lower)
    lp.a_matrix_.start_ = np.asarray(milp.starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(milp.columns, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(milp.values, dtype=np.float64)
    if not relax:
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[i] for i in milp.integer]
    return lp


def _solution(values: list[float]) -> highspy.HighsSolution:
    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    return sol
