"""One record per person: linkage runs, the review queue, merges and their undo.

A run reads every record not already merged, scores candidate pairs
(:mod:`safepassage.linkage.engine`), merges the clusters of pairs above the upper threshold, and
puts the pairs of the uncertain band in the review queue. A reviewer sees two records side by
side with the evidence and decides: the same person (merge) or not (never proposed again). A
merge can be undone; an undone merge is remembered as "not the same person". Every run, view of
the queue, decision and undo is audited.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safepassage.adapters.db.engine import READONLY
from safepassage.adapters.db.linkage_repo import LinkageRepository
from safepassage.bootstrap import System
from safepassage.domain.access import Action, Principal, Role, may_write
from safepassage.domain.errors import Conflict, NotFound
from safepassage.domain.people import Person
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.engine import Linker, Progress, ScoredPair, clusters
from safepassage.linkage.merging import MergeStep, keep_order, plan
from safepassage.linkage.model import Evidence, Model
from safepassage.services.common import UnitOfWork, audit, demand, redact_for, refuse
from safepassage.services.people import load_visible


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class LinkReport:
    run_id: int
    records: int
    candidates: int
    merged: int
    review: int
    skipped_blocks: int
    seconds: dict[str, float] = field(default_factory=dict)


def run_linkage(
    who: Principal,
    system: System,
    progress: Progress = _quiet,
    model: Model | None = None,
    max_block: int = 150,
) -> LinkReport:
    """Link the registry: merge what is certain, queue what is not."""
    model = model or Model.load()
    uow = system.uow()
    with uow:
        demand(uow, who, Action.LINKAGE_RUN, "link_run")
        run_id = uow.linkage.start_run(who.username, uow.now())
        uow.commit()
    try:
        with Linker(model, max_block=max_block, progress=progress) as linker:
            # read without the write lock: stations go on scanning while the records are read
            reader = system.engine.connect().execution_options(**{READONLY: True})
            with reader as conn, conn.begin():
                repo = LinkageRepository(conn)
                linker.load(repo.records(), repo.active_count())
            for stage in (linker.block, linker.compare, linker.score, linker.households):
                stage()
            pairs = linker.scored()
            stats = linker.stats
        with uow:
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
    except Exception as e:
        with uow:
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
    for members in groups.values():
        kept = min((state[m] for m in members), key=keep_order).id
        for m in members:
            if m != kept:
                ev = best[m]
                steps.append(MergeStep(kept, m, ev.score, ev.levels))
    progress("merging", 0, len(steps))
    merges = _merge(uow, steps, f"linkage run {run_id}", state)
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


def _merge(
    uow: UnitOfWork, steps: Sequence[MergeStep], by: str, state: dict[int, Any] | None = None
) -> int:
    """Work out and write the merges (households following), moving the status counters."""
    ids = {i for s in steps for i in (s.kept, s.merged)}
    state = dict(state or {})
    state.update(uow.linkage.states([i for i in ids if i not in state]))
    households = [s.household_id for s in state.values() if s.household_id is not None]
    members = uow.linkage.household_members(households)
    others = [m for ms in members.values() for m in ms if m not in state]
    state.update(uow.linkage.states(others))
    result = plan(steps, state, members, uow.linkage.merged_into_of(list(ids)))
    uow.linkage.write_plan(result, by, uow.now())
    keys = uow.linkage.count_keys([rid for rid, _, _ in result.status_moves])
    uow.people.bump_counts(
        change
        for rid, old, new in result.status_moves
        for change in (((old, *keys[rid]), -1), ((new, *keys[rid]), 1))
    )
    return len(result.merges)


# -- the review queue --------------------------------------------------------------------------
@dataclass(frozen=True)
class PairView:
    id: int
    a: Person
    b: Person
    score: float
    probability: float
    status: str
    evidence: list[Evidence]


def _pair_view(row: Any, a: Person, b: Person, model: Model) -> PairView:
    levels = list(row.levels or [])
    return PairView(
        int(row.id),
        a,
        b,
        float(row.score),
        model.probability(float(row.score)),
        str(row.status),
        model.evidence(levels, float(row.score)) if levels else [],
    )


def review_queue(
    who: Principal, uow: UnitOfWork, limit: int = 20, offset: int = 0
) -> tuple[list[PairView], int]:
    """Pairs waiting for a decision, most likely first; a liaison sees pairs of two records on
    their nation's lists. The names shown are audited."""
    model = Model.load()
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "link_pair")
        nation = who.nation if who.role is Role.LIAISON else None
        rows, total = uow.linkage.review_queue(nation, limit, offset)
        people = {
            p.id: redact_for(who, p)
            for p in uow.people.get_many([i for r in rows for i in (r.person_a, r.person_b)])
        }
        views = [
            _pair_view(r, people[r.person_a], people[r.person_b], model)
            for r in rows
            if r.person_a in people and r.person_b in people
        ]
        audit(
            uow,
            who,
            "linkage.queue",
            "link_pair",
            "",
            pairs=[v.id for v in views],
            people=sorted(people),
        )
        uow.commit()
        return views, total


def latest_runs(who: Principal, uow: UnitOfWork) -> list[dict[str, Any]]:
    """The latest linkage runs (counts only)."""
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "link_run")
        return [dict(r._mapping) for r in uow.linkage.runs()]


def _load_pair(uow: UnitOfWork, who: Principal, pair_id: int, action: str) -> tuple[Any, ...]:
    row = uow.linkage.pair(pair_id)
    if row is None:
        if who.role is Role.COORDINATOR:
            raise NotFound(f"no pair {pair_id}")
        raise refuse(uow, who, action, "link_pair", pair_id, "this pair is not yours to see")
    a = load_visible(uow, who, row.person_a, action, write=True)
    b = load_visible(uow, who, row.person_b, action, write=True)
    return row, a, b


def get_pair(pair_id: int, who: Principal, uow: UnitOfWork) -> PairView:
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "link_pair", pair_id)
        row, a, b = _load_pair(uow, who, pair_id, "linkage.pair")
        audit(uow, who, "linkage.pair", "link_pair", pair_id, people=[a.id, b.id])
        uow.commit()
        return _pair_view(row, a, b, Model.load())


def decide_pair(pair_id: int, same: bool, who: Principal, uow: UnitOfWork) -> int | None:
    """A reviewer's decision: the same person (returns the kept record) or not."""
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "link_pair", pair_id)
        row, a, b = _load_pair(uow, who, pair_id, "linkage.decide")
        if row.status != "review":
            raise Conflict(f"this pair was already decided ({row.status.replace('_', ' ')})")
        now = uow.now()
        kept = None
        if same:
            ca, cb = uow.linkage.canonical(a.id), uow.linkage.canonical(b.id)
            if ca != cb:
                st = uow.linkage.states([ca, cb])
                kept = min(st.values(), key=keep_order).id
                other = cb if kept == ca else ca
                _merge(
                    uow, [MergeStep(kept, other, row.score, tuple(row.levels or []))], who.username
                )
            else:
                kept = ca
        uow.linkage.decide_pair(
            row.person_a, row.person_b, "merged" if same else "not_same", who.username, now
        )
        audit(
            uow,
            who,
            "person.merge" if same else "linkage.not_same",
            "link_pair",
            pair_id,
            people=[a.id, b.id],
            kept=kept,
        )
        uow.commit()
        return kept


def merges_of(person_id: int, who: Principal, uow: UnitOfWork) -> list[dict[str, Any]]:
    """The merges that involve a record, for its page (caller already allowed to see it)."""
    with uow:
        load_visible(uow, who, person_id, "person.view")
        rows = [dict(r._mapping) for r in uow.linkage.merges_of(person_id)]
        uow.commit()
        return rows


def undo_merge(merge_id: int, who: Principal, uow: UnitOfWork) -> int:
    """Take a merge back exactly; the pair is then remembered as not the same person.
    Returns the record that was merged (now standing on its own again)."""
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "person_merge", merge_id)
        row = uow.linkage.merge_row(merge_id)
        if row is None:
            raise NotFound(f"no merge {merge_id}")
        for pid in (row.kept_id, row.merged_id):
            scope = uow.people.scope(pid)
            if scope is None or not may_write(who, scope):
                raise refuse(
                    uow,
                    who,
                    "person.merge_undo",
                    "person_merge",
                    merge_id,
                    "this merge involves a record you may not change",
                )
        if row.undone_at is not None:
            raise Conflict("this merge was already undone")
        prior = row.prior
        now = uow.now()
        st = uow.linkage.states([row.kept_id, row.merged_id])
        merged, kept = st[row.merged_id], st[row.kept_id]
        if merged.status != PersonStatus.MERGED:
            raise Conflict("the merged record has changed since; it is not merged any more")
        uow.linkage.set_fields(merged.id, now, status=prior["status"], merged_into=None)
        for rid in prior.get("repointed", []):
            uow.linkage.set_fields(rid, now, merged_into=merged.id)
        for rid, household in prior.get("moved", []):
            cur = uow.linkage.states([rid]).get(rid)
            if cur is not None and cur.household_id == kept.household_id:
                uow.linkage.set_fields(rid, now, household_id=household)
        before = prior["kept"]
        values: dict[str, Any] = {"self_declared": before["self_declared"]}
        if before["household_id"] is None and kept.household_id == merged.household_id:
            values |= {"household_id": None, "relationship": before["relationship"]}
        uow.linkage.set_fields(kept.id, now, **values)
        keys = uow.linkage.count_keys([merged.id])[merged.id]
        uow.people.bump_counts(
            [((PersonStatus.MERGED.value, *keys), -1), ((prior["status"], *keys), 1)]
        )
        uow.linkage.mark_undone(merge_id, who.username, now)
        uow.linkage.decide_pair(row.kept_id, row.merged_id, "not_same", who.username, now)
        audit(
            uow,
            who,
            "person.merge_undo",
            "person_merge",
            merge_id,
            people=[row.kept_id, row.merged_id],
        )
        uow.commit()
        return int(row.merged_id)
