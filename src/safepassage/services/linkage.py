"""One record per person: linkage runs and the merges they make.

A run reads every record not already merged, scores candidate pairs
(:mod:`safepassage.linkage.engine`), merges the clusters of pairs above the upper threshold, and
puts the pairs of the uncertain band in the review queue (:mod:`safepassage.services.
linkage_review`, where people decide and undo). Every run is audited.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safepassage.domain.access import Action, Principal
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.engine import Linker, Progress, ScoredPair, clusters, no_progress
from safepassage.linkage.merging import MergePlan, MergeStep, keep_order, plan
from safepassage.linkage.model import Model
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class LinkReport:
    """What a linkage run did: the records it read, the people it merged, the pairs it queued.

    ``review`` is the pairs left for a coordinator to decide; ``skipped_blocks``, the blocks too
    big to compare (over ``max_block`` records); ``seconds``, the time each step took.
    """

    run_id: int
    records: int
    candidates: int
    merged: int
    review: int
    skipped_blocks: int
    seconds: dict[str, float] = field(default_factory=dict)


def run_linkage(
    who: Principal,
    uows: UnitOfWorkFactory,
    progress: Progress = no_progress,
    model: Model | None = None,
    max_block: int = 150,
) -> LinkReport:
    """Link the registry: merge what is certain, queue what is not.

    It runs in transactions of its own (``uows``): the run's record, the read of the registry,
    then what the run decided (or that it failed).
    """
    model = model or Model.load()
    with uows() as uow:
        demand(uow, who, Action.LINKAGE_RUN, "link_run")
        run_id = uow.linkage.start_run(who.username, uow.now())
        uow.commit()
    try:
        with Linker(model, max_block=max_block, progress=progress) as linker:
            # read without the write lock: stations go on scanning while the records are read
            with uows(readonly=True) as snapshot:
                linker.load(snapshot.linkage.records(), snapshot.linkage.active_count())
            for stage in (linker.block, linker.compare, linker.score, linker.households):
                stage()
            pairs = linker.scored()
            stats = linker.stats
        with uows() as uow:
            started = time.perf_counter()
            merged, review = _apply(uow, run_id, pairs, model, progress)
            stats.seconds["writing"] = round(time.perf_counter() - started, 2)
            detail = {
                "seconds": stats.seconds,
                "skipped_blocks": stats.skipped_blocks,
                "upper": model.upper,
                "lower": model.lower,
                "model": model.trained_on,
            }
            uow.linkage.finish_run(
                run_id,
                "done",
                uow.now(),
                records=stats.records,
                candidates=stats.candidates,
                merged=merged,
                review=review,
                detail=detail,
            )
            audit(
                uow,
                who,
                "linkage.run",
                "link_run",
                run_id,
                records=stats.records,
                merged=merged,
                review=review,
            )
            uow.commit()
    except BaseException as e:  # a Ctrl-C too: the run is not left "running"
        with uows() as uow:
            uow.linkage.finish_run(run_id, "failed", uow.now(), detail={"error": str(e)})
            audit(uow, who, "linkage.run", "link_run", run_id, outcome="failed", error=str(e))
            uow.commit()
        raise
    return LinkReport(
        run_id, stats.records, stats.candidates, merged, review, stats.skipped_blocks, stats.seconds
    )


def _apply(
    uow: UnitOfWork, run_id: int, pairs: list[ScoredPair], model: Model, progress: Progress
) -> tuple[int, int]:
    """Merge the linked clusters and queue the uncertain pairs; returns (merges, queued)."""
    uow.linkage.lock_merges()
    decided = uow.linkage.decided()
    apart = [k for k, s in decided.items() if s == "not_same"]
    links = [p for p in pairs if p.score >= model.upper and decided.get((p.a, p.b)) != "not_same"]
    root = clusters(((p.a, p.b) for p in links), apart)
    groups: dict[int, list[int]] = {}
    for rid, r in root.items():
        groups.setdefault(r, []).append(rid)
    best: dict[int, ScoredPair] = {}  # the strongest evidence naming each record
    for p in links:
        for rid in (p.a, p.b):
            if rid not in best or p.score > best[rid].score:
                best[rid] = p
    steps: list[MergeStep] = []
    state = uow.linkage.states(list(root))
    for group in groups.values():
        # a reviewer may have merged some of them since the run read the registry: those
        # stand for nobody now, and nothing is merged into them
        members = [m for m in group if state[m].status != PersonStatus.MERGED]
        if len(members) < 2:
            continue
        kept = min((state[m] for m in members), key=keep_order).id
        for m in members:
            if m != kept:
                ev = best[m]
                steps.append(MergeStep(kept, m, ev.score, ev.levels))
    progress("merging", 0, len(steps))
    merges = merge_steps(uow, steps, f"linkage run {run_id}", state)
    progress("merging", len(steps), len(steps))
    queued = [
        (p.a, p.b, p.score, list(p.levels))
        for p in pairs
        if p.score < model.upper
        and decided.get((p.a, p.b), "review") == "review"
        and not (p.a in root and p.b in root and root[p.a] == root[p.b])
    ]
    uow.linkage.queue_pairs(queued, run_id)
    return merges, len(queued)


def merge_steps(
    uow: UnitOfWork, steps: Sequence[MergeStep], by: str, state: dict[int, Any] | None = None
) -> int:
    """Work out and write the merges (households following), moving the status counters."""
    return write_merges(uow, plan_merges(uow, steps, state), by)


def plan_merges(
    uow: UnitOfWork, steps: Sequence[MergeStep], state: dict[int, Any] | None = None
) -> MergePlan:
    """Work out the merges (households following) from the records as they are."""
    ids = {i for s in steps for i in (s.kept, s.merged)}
    state = dict(state or {})
    state.update(uow.linkage.states([i for i in ids if i not in state]))
    households = [s.household_id for s in state.values() if s.household_id is not None]
    members = uow.linkage.household_members(households)
    others = [m for ms in members.values() for m in ms if m not in state]
    state.update(uow.linkage.states(others))
    return plan(
        steps,
        state,
        members,
        uow.linkage.merged_into_of(list(ids)),
        uow.linkage.heads(households),
    )


def write_merges(uow: UnitOfWork, result: MergePlan, by: str) -> int:
    """Write worked-out merges, moving the status counters; returns how many."""
    uow.linkage.write_plan(result, by, uow.now())
    keys = uow.linkage.count_keys([rid for rid, _, _ in result.status_moves])
    uow.people.bump_counts(
        change
        for rid, old, new in result.status_moves
        for change in (((old, *keys[rid]), -1), ((new, *keys[rid]), 1))
    )
    return len(result.merges)
