"""What merging records of the same person changes, and how to take it back.

A merge keeps both records: the merged one stays as the list had it, with status "merged" and a
pointer to the record that stands for the person from then on (the kept one). Households follow
their members: when the merged record was in a household, the household's other members join the
kept record's household (a sign-up's family joins the family the sponsor listed), or, when the
kept record had no household, it joins the merged record's one. A household keeps one living
head: where the merged record was the head, the kept record takes its place, and the head of a
family that joins another household becomes a relative there. Every change is written down in
the merge's ``prior`` so that an undo restores exactly what was before.

Pure functions over plain values: the repository loads the state, the service decides which
record is kept, this module works out the changes, and the repository writes them in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from safepassage.domain.people import Relationship
from safepassage.domain.pipeline import FUNNEL, PersonStatus

_HEAD = Relationship.HEAD.value
_OTHER_RELATIVE = Relationship.OTHER_RELATIVE.value


@dataclass(frozen=True, slots=True)
class RecordState:
    id: int
    status: str
    household_id: int | None
    relationship: str | None
    self_declared: bool
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class MergeStep:
    kept: int
    merged: int
    score: float | None = None
    levels: tuple[int, ...] | None = None


@dataclass
class MergePlan:
    """The records' new values (only what changed) and one entry per merge for the log."""

    changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    merges: list[dict[str, Any]] = field(default_factory=list)
    status_moves: list[tuple[int, str, str]] = field(default_factory=list)  # id, from, to
    heads: dict[int, int] = field(default_factory=dict)  # household -> its new head


def keep_order(r: RecordState) -> tuple[int, int, int, int]:
    """Which record of a cluster stands for the person: one vouched for by a list (not
    self-declared), then the one furthest along the evacuation, then one in a household, then
    the oldest."""
    progress = FUNNEL.index(PersonStatus(r.status)) if r.status in FUNNEL else -1
    return (int(r.self_declared), -progress, int(r.household_id is None), r.id)


def plan(
    steps: Iterable[MergeStep],
    state: dict[int, RecordState],
    members: dict[int, list[int]],
    merged_into_of: dict[int, list[int]],
    heads: dict[int, int] | None = None,
) -> MergePlan:
    """The changes of merging each step's ``merged`` record into its ``kept`` one, in order.

    ``state`` holds every record named in the steps and every member of their households
    (``members``: household → member ids, merged records left out); ``merged_into_of``: for a
    record, the records already merged into it (they are pointed at the new kept record);
    ``heads``: the head of each of those households."""
    st = dict(state)
    hh = {h: list(ids) for h, ids in members.items()}
    hd = dict(heads or {})
    out = MergePlan()

    def change(rid: int, **values: Any) -> None:
        st[rid] = replace(st[rid], **values)
        out.changes.setdefault(rid, {}).update(values)

    for step in steps:
        kept, merged = st[step.kept], st[step.merged]
        if kept.id == merged.id or PersonStatus.MERGED in (merged.status, kept.status):
            continue  # never into a record that no longer stands for anyone
        prior: dict[str, Any] = {
            "status": merged.status,
            "kept": {
                "household_id": kept.household_id,
                "relationship": kept.relationship,
                "self_declared": kept.self_declared,
            },
            "moved": [],
            "repointed": [],
        }
        change(merged.id, status=PersonStatus.MERGED.value, merged_into=kept.id)
        out.status_moves.append((merged.id, merged.status, PersonStatus.MERGED.value))
        for rid in merged_into_of.get(merged.id, []):
            out.changes.setdefault(rid, {})["merged_into"] = kept.id
            prior["repointed"].append(rid)
        merged_into_of.setdefault(kept.id, []).extend([merged.id, *prior["repointed"]])
        h_merged, h_kept = merged.household_id, kept.household_id
        if h_merged is not None and h_merged in hh:
            hh[h_merged] = [m for m in hh[h_merged] if m != merged.id]
        if h_merged is not None and h_merged != h_kept:
            if h_kept is None:
                change(kept.id, household_id=h_merged, relationship=merged.relationship)
                hh.setdefault(h_merged, []).append(kept.id)
            else:
                for rid in hh.get(h_merged, []):
                    if st[rid].relationship == _HEAD:
                        # the kept record's household has its head: the family's is a relative
                        prior["moved"].append([rid, h_merged, _HEAD])
                        change(rid, household_id=h_kept, relationship=_OTHER_RELATIVE)
                    else:
                        prior["moved"].append([rid, h_merged])
                        change(rid, household_id=h_kept)
                    hh.setdefault(h_kept, []).append(rid)
                hh[h_merged] = []
        if (
            h_merged is not None
            and hd.get(h_merged) == merged.id
            and st[kept.id].household_id == h_merged
        ):
            # the merged record headed the household the kept record is in: the kept one heads it
            prior["head"] = [h_merged, merged.id]
            hd[h_merged] = out.heads[h_merged] = kept.id
            if st[kept.id].relationship != _HEAD:
                change(kept.id, relationship=_HEAD)
        if kept.self_declared and not merged.self_declared:
            change(kept.id, self_declared=False)  # a list vouches for the person now
        out.merges.append(
            {
                "kept_id": kept.id,
                "merged_id": merged.id,
                "score": step.score,
                "levels": list(step.levels) if step.levels is not None else None,
                "prior": prior,
            }
        )
    return out
