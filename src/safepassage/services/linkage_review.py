"""One record per person, decided by people: the review queue, decisions, merges' undo.

A reviewer sees two records side by side with the evidence and decides: the same person (merge)
or not (never proposed again). A merge can be undone; an undone merge is remembered as "not the
same person". Every view of the queue, decision and undo is audited, and so is every refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, Principal, Role, may_write, redact_for
from safepassage.domain.errors import Conflict, NotFound
from safepassage.domain.people import Person
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.merging import MergeStep, RecordState, keep_order
from safepassage.linkage.model import Evidence, Model
from safepassage.services.common import UnitOfWork, audit, demand, refuse
from safepassage.services.linkage import plan_merges, write_merges
from safepassage.services.people import load_visible


# -- the review queue --------------------------------------------------------------------------
@dataclass(frozen=True)
class PairView:
    """Two records a reviewer compares, with the model's score and the evidence for it."""

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
    """Pairs waiting for a decision, most likely first, and how many wait in all.

    A liaison sees pairs of two records on their nation's lists. The names shown are audited.
    """
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


def decide_pair(pair_id: int, same: bool, who: Principal, uow: UnitOfWork) -> int | None:
    """A reviewer's decision: the same person (returns the kept record) or not."""
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "link_pair", pair_id)
        uow.linkage.lock_merges()  # a second reviewer of the pair waits, then finds it decided
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
                result = plan_merges(
                    uow, [MergeStep(kept, other, row.score, tuple(row.levels or []))], st
                )
                # the records standing for the two (one may be another list's record that
                # one of them was merged into) and the families that move: all the caller's
                _require_write(
                    uow, who, {ca, cb, *result.changes}, "linkage.decide", "link_pair", pair_id
                )
                write_merges(uow, result, who.username)
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
        audit(
            uow,
            who,
            "person.merges",
            "person",
            person_id,
            people=sorted({i for r in rows for i in (r["kept_id"], r["merged_id"])}),
        )
        uow.commit()
        return rows


def _require_write(
    uow: UnitOfWork, who: Principal, ids: set[int], action: str, entity: str, entity_id: int
) -> None:
    """Refuse (audited) unless the caller may change every one of these records."""
    if who.role is Role.COORDINATOR:
        return
    scopes = uow.people.scopes(sorted(ids))
    if any(i not in scopes or not may_write(who, scopes[i]) for i in ids):
        raise refuse(
            uow, who, action, entity, entity_id, "this merge involves a record you may not change"
        )


def _households_changed(row: Any, merged_household: int | None) -> set[int]:
    """The records whose household (or place in it) a merge changed.

    They are the family it moved, and the kept record when it joined the merged one's household
    or became its head.
    """
    prior = row.prior
    changed = {int(m[0]) for m in prior.get("moved", [])}
    joined = prior["kept"]["household_id"] is None and merged_household is not None
    if joined or "head" in prior:
        changed.add(int(row.kept_id))
    return changed


def _blocking_merge(uow: UnitOfWork, row: Any, merged_household: int | None) -> int | None:
    """A later merge, still standing, that moved records whose household this merge changed.

    Or merged them, or brought a family to them: undoing this one alone would leave a family
    with a stranger, so that one is undone first. Pointers need no such care: the undo
    re-points only what still points where this merge left it.
    """
    mine = _households_changed(row, merged_household)
    if not mine:
        return None
    later = uow.linkage.later_merges(int(row.id))
    households = {
        i: s.household_id for i, s in uow.linkage.states([m.merged_id for m in later]).items()
    }
    for m in later:
        touched = _households_changed(m, households.get(m.merged_id)) | {int(m.merged_id)}
        if m.prior.get("moved"):
            touched.add(int(m.kept_id))  # a family joined it
        if touched & mine:
            return int(m.id)
    return None


def undo_merge(merge_id: int, who: Principal, uow: UnitOfWork) -> int:
    """Take a merge back exactly; the pair is then remembered as not the same person.

    Returns:
        The record that was merged (now standing on its own again).

    Raises:
        NotFound: to a coordinator, for a merge that does not exist.
        AccessDenied: (audited) when the merge involves a record the caller may not change;
            to anyone but a coordinator, also for a merge that does not exist.
        Conflict: when the merge was already undone, the merged record is not merged any more,
            or a later merge moved the same families (that one is to be undone first).
    """
    with uow:
        demand(uow, who, Action.LINKAGE_REVIEW, "person_merge", merge_id)
        uow.linkage.lock_merges()
        row = uow.linkage.merge_row(merge_id)
        if row is None and who.role is Role.COORDINATOR:
            raise NotFound(f"no merge {merge_id}")
        touched = _touched_by(row)
        scopes = uow.people.scopes(sorted(touched))
        # a merge that does not exist gets the same refusal as one of another list's records
        if row is None or any(i not in scopes or not may_write(who, scopes[i]) for i in touched):
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
        now = uow.now()
        st = uow.linkage.states(sorted(touched))
        merged, kept = st[row.merged_id], st[row.kept_id]
        if merged.status != PersonStatus.MERGED:
            raise Conflict("the merged record has changed since; it is not merged any more")
        blocking = _blocking_merge(uow, row, merged.household_id)
        if blocking is not None:
            raise Conflict(
                f"merge #{blocking}, made after this one, moved the same families; undo it first"
            )
        _restore_merged(uow, row.prior, st, merged, kept, now)
        _restore_families(uow, _moved(row.prior), st, kept, now)
        _restore_kept(uow, row.prior, merged, kept, now)
        keys = uow.linkage.count_keys([merged.id])[merged.id]
        uow.people.bump_counts(
            [((PersonStatus.MERGED.value, *keys), -1), ((row.prior["status"], *keys), 1)]
        )
        uow.linkage.mark_undone(merge_id, who.username, now)
        uow.linkage.decide_pair(row.kept_id, row.merged_id, "not_same", who.username, now)
        audit(
            uow,
            who,
            "person.merge_undo",
            "person_merge",
            merge_id,
            people=sorted(touched),
        )
        uow.commit()
        return int(row.merged_id)


def _moved(prior: dict[str, Any]) -> list[tuple[int, Any, Any]]:
    """The family the merge moved: (record, household before, relationship before or None)."""
    return [(int(m[0]), m[1], m[2] if len(m) > 2 else None) for m in prior.get("moved", [])]


def _touched_by(row: Any) -> set[int]:
    """Every record undoing the merge may change: the two, those re-pointed, the family moved."""
    if row is None:
        return set()
    prior = row.prior
    return {row.kept_id, row.merged_id, *prior.get("repointed", []), *(m[0] for m in _moved(prior))}


def _restore_merged(
    uow: UnitOfWork,
    prior: dict[str, Any],
    st: dict[int, RecordState],
    merged: RecordState,
    kept: RecordState,
    now: dt.datetime,
) -> None:
    """The merged record stands again; records re-pointed to the kept one point back to it."""
    uow.linkage.set_fields(merged.id, now, status=prior["status"], merged_into=None)
    for rid in prior.get("repointed", []):
        cur = st.get(rid)
        if cur is not None and cur.status == PersonStatus.MERGED and cur.merged_into == kept.id:
            uow.linkage.set_fields(rid, now, merged_into=merged.id)


def _restore_families(
    uow: UnitOfWork,
    moved: list[tuple[int, Any, Any]],
    st: dict[int, RecordState],
    kept: RecordState,
    now: dt.datetime,
) -> None:
    """The family the merge moved goes back to its household, if still in the kept one's."""
    for rid, household, relationship in moved:
        cur = st.get(rid)
        if cur is not None and cur.household_id == kept.household_id:
            back: dict[str, Any] = {"household_id": household}
            if relationship is not None:
                back["relationship"] = relationship
            uow.linkage.set_fields(rid, now, **back)


def _restore_kept(
    uow: UnitOfWork, prior: dict[str, Any], merged: RecordState, kept: RecordState, now: dt.datetime
) -> None:
    """The kept record's own fields as before the merge, and its household's head."""
    before = prior["kept"]
    values: dict[str, Any] = {"self_declared": before["self_declared"]}
    if before["household_id"] is None and kept.household_id == merged.household_id:
        values |= {"household_id": None, "relationship": before["relationship"]}
    if "head" in prior:
        household, head = prior["head"]
        if uow.linkage.heads([household]).get(household) == kept.id:
            uow.linkage.set_head(household, head)
        if kept.household_id == household:
            values["relationship"] = before["relationship"]
    uow.linkage.set_fields(kept.id, now, **values)
