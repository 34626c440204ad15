"""Findings of the review of merges, their undo and the review queue, each as a failing test
first: access through the queue and the undo, exact undos when later merges happened, households
that keep one living head, and concurrent reviewers and runs."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.linkage_repo import LinkageRepository
from safepassage.adapters.db.people_repo import PeopleRepository
from safepassage.domain.errors import AccessDenied, Conflict
from safepassage.services import households, linkage, people, signup
from safepassage.services import linkage_review as review
from safepassage.services.common import SYSTEM
from tests.hooks import Hooks, hooked
from tests.integration.conftest import World
from tests.linkage_helpers import SAME_STUDENT

COORD = "coordinator"


# -- helpers ------------------------------------------------------------------------------------
def _person(world: World, given: str, nation: str = "RU", year: str = "1987") -> int:
    return people.create_person(
        people.PersonInput(
            given_name=given,
            family_name="Ahmadi",
            sex="F",
            date_of_birth=year,
            nationalities=["AF"],
            category="student",
            sponsoring_nation=nation,
        ),
        SYSTEM,
        world.system.uow(),
    )


def _household(world: World, *members: tuple[int, str]) -> int:
    return households.create_household(
        households.HouseholdInput(list(members)), SYSTEM, world.system.uow()
    )


def _sign_up(world: World, given: str, children: int = 1) -> tuple[int, list[int], int]:
    """A self sign-up (head and children); returns (head, children, household)."""
    receipt = signup.register_household(
        people.PersonInput(given_name=given, family_name="Ahmadi", sex="F", phone="0701111111"),
        [
            (people.PersonInput(given_name=f"Child{i}", sex="F", date_of_birth="2019"), "child")
            for i in range(children)
        ],
        "10.0.0.9",
        world.system.uow(),
    )
    with world.system.engine.connect() as c:
        ids = list(
            c.scalars(
                sa.select(t.person.c.id)
                .where(t.person.c.household_id == receipt.household_id)
                .order_by(t.person.c.id)
            )
        )
    return ids[0], ids[1:], receipt.household_id


def _queue(world: World, a: int, b: int) -> int:
    """Put a pair in the review queue, as a linkage run does."""
    lo, hi = min(a, b), max(a, b)
    with world.system.engine.begin() as c:
        repo = LinkageRepository(c)
        repo.queue_pairs([(lo, hi, 5.0, [])], None)  # type: ignore[arg-type]
        row = repo.pair_of(lo, hi)
    assert row is not None
    return int(row.id)


def _merge_id(world: World, kept: int, merged: int) -> int:
    with world.system.engine.connect() as c:
        return int(
            c.scalar(
                sa.select(t.person_merge.c.id).where(
                    t.person_merge.c.kept_id == kept, t.person_merge.c.merged_id == merged
                )
            )
        )


def _row(world: World, pid: int) -> sa.Row:
    with world.system.engine.connect() as c:
        row = c.execute(sa.select(t.person).where(t.person.c.id == pid)).first()
    assert row is not None
    return row


def _set_status(world: World, pid: int, status: str) -> None:
    with world.system.engine.begin() as c:
        c.execute(t.person.update().where(t.person.c.id == pid).values(status=status))
        PeopleRepository(c).recount()


def _counts(world: World) -> dict[tuple[str, str, str, str], int]:
    with world.system.engine.connect() as c:
        return PeopleRepository(c).counters()


def _true_counts(world: World) -> dict[tuple[str, str, str, str], int]:
    p = t.person.c
    with world.system.engine.connect() as c:
        return {
            (r[0], r[1] or "", r[2], r[3] or ""): int(r[4])
            for r in c.execute(
                sa.select(
                    p.status, p.sponsoring_nation, p.category, p.sponsor_org, sa.func.count()
                ).group_by(p.status, p.sponsoring_nation, p.category, p.sponsor_org)
            )
        }


def _snapshot(world: World) -> dict[str, Any]:
    """Everything a merge may change: the people's linkage fields, the households' heads and
    the counters."""
    p = t.person.c
    with world.system.engine.connect() as c:
        persons = {
            r.id: (r.status, r.merged_into, r.household_id, r.relationship, bool(r.self_declared))
            for r in c.execute(
                sa.select(
                    p.id, p.status, p.merged_into, p.household_id, p.relationship, p.self_declared
                )
            )
        }
        heads = dict(c.execute(sa.select(t.household.c.id, t.household.c.head_person_id)).all())
    return {"persons": persons, "heads": heads, "counts": _counts(world)}


def _check_invariants(world: World) -> None:
    """What must hold after any merge or undo: counters agree with the records; a record
    points at another only when it is merged, and then at a record that is not; every
    household with living members has one living head among them."""
    assert _counts(world) == _true_counts(world)
    with world.system.engine.connect() as c:
        rows = {r.id: r for r in c.execute(sa.select(t.person))}
        heads = dict(c.execute(sa.select(t.household.c.id, t.household.c.head_person_id)).all())
    for r in rows.values():
        if r.status == "merged":
            assert r.merged_into is not None, r.id
            assert rows[r.merged_into].status != "merged", (r.id, r.merged_into)
        else:
            assert r.merged_into is None, (r.id, r.merged_into)
    living: dict[int, list[Any]] = {}
    for r in rows.values():
        if r.household_id is not None and r.status != "merged":
            living.setdefault(r.household_id, []).append(r)
    for hid, members in living.items():
        ids = {m.id for m in members}
        assert heads[hid] in ids, f"household {hid}: head {heads[hid]} is not among {ids}"
        assert [m.relationship for m in members].count("head") == 1, (hid, members)


def _audit(world: World) -> list[sa.Row]:
    with world.system.engine.connect() as c:
        return list(c.execute(sa.select(t.audit).order_by(t.audit.c.id)))


# -- households follow their members -------------------------------------------------------------
def test_a_kept_record_that_joins_the_merged_heads_household_becomes_its_head(world: World):
    """The list's record had no household; the sign-up's head had one: the household must keep
    a head that is not a merged record (else nobody, not even a coordinator, can open it)."""
    listed = _person(world, "Nilufar")
    head, (child,), hh = _sign_up(world, "Nilufar")
    before = _snapshot(world)
    pair = _queue(world, listed, head)

    kept = review.decide_pair(pair, True, world.who[COORD], world.system.uow())

    assert kept == listed
    view = households.get_household(hh, world.who[COORD], world.system.uow())
    assert {p.id for p in view.members} == {listed, child}
    assert next(p.id for p in view.members if p.relationship.value == "head") == listed
    _check_invariants(world)

    review.undo_merge(_merge_id(world, listed, head), world.who[COORD], world.system.uow())
    after = _snapshot(world)
    assert after["persons"] == before["persons"] and after["heads"] == before["heads"]
    assert after["counts"] == before["counts"]
    _check_invariants(world)


def test_the_same_person_twice_in_one_household_keeps_the_household_a_head(world: World):
    kept_id = _person(world, "Nilufar")
    head = _person(world, "Nilufar")  # the household's head, the same person listed again
    child = _person(world, "Maryam", year="2015")
    hh = _household(world, (head, "head"), (kept_id, "other"), (child, "child"))
    before = _snapshot(world)
    pair = _queue(world, kept_id, head)

    assert review.decide_pair(pair, True, world.who[COORD], world.system.uow()) == kept_id

    view = households.get_household(hh, world.who[COORD], world.system.uow())
    assert {p.id for p in view.members} == {kept_id, child}
    _check_invariants(world)
    review.undo_merge(_merge_id(world, kept_id, head), world.who[COORD], world.system.uow())
    assert _snapshot(world) == before


def test_a_merged_members_family_does_not_bring_a_second_head(world: World):
    """The student heads the household the university listed; the same student is a child in
    the father's household on another list: the father's family joins, with one head."""
    student = _person(world, "Nilufar")
    own = _household(world, (student, "head"))
    father = _person(world, "Ghulam", year="1960")
    again = _person(world, "Nilufar")  # the student on the father's list
    sister = _person(world, "Maryam", year="2015")
    family = _household(world, (father, "head"), (again, "child"), (sister, "child"))
    before = _snapshot(world)
    pair = _queue(world, student, again)

    assert review.decide_pair(pair, True, world.who[COORD], world.system.uow()) == student

    assert {_row(world, i).household_id for i in (student, father, sister)} == {own}
    _check_invariants(world)
    review.undo_merge(_merge_id(world, student, again), world.who[COORD], world.system.uow())
    assert _snapshot(world) == before
    assert _row(world, father).household_id == family


# -- undo when later merges happened ---------------------------------------------------------
def test_undoing_a_merge_then_the_later_merge_of_its_kept_record_leaves_no_dangling_pointer(
    world: World,
):
    """A merged into B, then B into C (A is pointed at C). Undo A→B, then B→C: A must stand
    on its own, not point at B while not merged."""
    c_id = _person(world, "Nilufar")
    _household(world, (c_id, "head"))
    b_id = _person(world, "Nilufar")
    _household(world, (b_id, "head"))
    a_id = _person(world, "Nilufar")  # no household: B is kept over A
    before = _snapshot(world)
    ab, bc = _queue(world, a_id, b_id), _queue(world, b_id, c_id)
    assert review.decide_pair(ab, True, world.who[COORD], world.system.uow()) == b_id
    assert review.decide_pair(bc, True, world.who[COORD], world.system.uow()) == c_id
    assert _row(world, a_id).merged_into == c_id
    _check_invariants(world)

    review.undo_merge(_merge_id(world, b_id, a_id), world.who[COORD], world.system.uow())
    _check_invariants(world)
    review.undo_merge(_merge_id(world, c_id, b_id), world.who[COORD], world.system.uow())

    _check_invariants(world)
    assert _snapshot(world) == before


def test_an_undo_never_leaves_a_family_with_a_stranger_after_a_later_merge(world: World):
    """M's family moved into K's household (merge 1), then K's household into C's (merge 2).
    Undoing merge 1 alone would leave M's child with C, a stranger to M: it must be refused
    until merge 2 is undone; undone in that order, everything is as before."""
    c_id = _person(world, "Nilufar")
    _household(world, (c_id, "head"))
    k_id = _person(world, "Nilufar")
    _household(world, (k_id, "head"))
    m_id, (child,), m_hh = _sign_up(world, "Nilufar")
    before = _snapshot(world)
    mk, kc = _queue(world, m_id, k_id), _queue(world, k_id, c_id)
    assert review.decide_pair(mk, True, world.who[COORD], world.system.uow()) == k_id
    assert review.decide_pair(kc, True, world.who[COORD], world.system.uow()) == c_id
    first, second = _merge_id(world, k_id, m_id), _merge_id(world, c_id, k_id)
    during = _snapshot(world)

    with pytest.raises(Conflict):
        review.undo_merge(first, world.who[COORD], world.system.uow())
    assert _snapshot(world) == during

    review.undo_merge(second, world.who[COORD], world.system.uow())
    _check_invariants(world)
    review.undo_merge(first, world.who[COORD], world.system.uow())
    assert _row(world, child).household_id == m_hh
    assert _snapshot(world) == before


def test_a_later_merge_that_moved_no_family_of_this_one_does_not_block_its_undo(world: World):
    """M's family moved into K's household; later D (no household) was merged into K too.
    Undoing M's merge alone is exact: M's family goes back, D stays merged into K."""
    k_id = _person(world, "Nilufar")
    k_hh = _household(world, (k_id, "head"))
    m_id, (child,), m_hh = _sign_up(world, "Nilufar")
    d_id = _person(world, "Nilufar")
    before = _snapshot(world)
    mk, dk = _queue(world, m_id, k_id), _queue(world, d_id, k_id)
    assert review.decide_pair(mk, True, world.who[COORD], world.system.uow()) == k_id
    assert review.decide_pair(dk, True, world.who[COORD], world.system.uow()) == k_id
    assert _row(world, child).household_id == k_hh

    review.undo_merge(_merge_id(world, k_id, m_id), world.who[COORD], world.system.uow())

    _check_invariants(world)
    after = _snapshot(world)
    assert _row(world, child).household_id == m_hh
    assert _row(world, d_id).merged_into == k_id
    assert {i: v for i, v in after["persons"].items() if i != d_id} == {
        i: v for i, v in before["persons"].items() if i != d_id
    }


# -- access ---------------------------------------------------------------------------------------
def test_a_liaison_cannot_merge_through_a_record_already_merged_into_another_nations(
    world: World,
):
    """Russia's record R1 was merged (by a coordinator) into the United States' record; a pair
    of two Russian records naming R1 must not let Russia's liaison change the American one."""
    r1 = _person(world, "Zahra", year="1990")
    pair = _queue(world, r1, world.us_person)
    assert review.decide_pair(pair, True, world.who[COORD], world.system.uow()) == world.us_person
    r2 = _person(world, "Zahra", year="1990")
    ours = _queue(world, r1, r2)
    queue, _ = review.review_queue(world.who["liaison"], world.system.uow())
    assert [p.id for p in queue] == [ours]  # both records are on Russia's list
    before = _snapshot(world)

    with pytest.raises(AccessDenied):
        review.decide_pair(ours, True, world.who["liaison"], world.system.uow())

    assert _snapshot(world) == before
    last = _audit(world)[-1]
    assert (last.action, last.outcome) == ("linkage.decide", "denied")


def test_a_liaison_cannot_move_another_nations_person_by_merging(world: World):
    kept_id = _person(world, "Nilufar")
    _household(world, (kept_id, "head"))
    merged = _person(world, "Nilufar")
    guest = _person(world, "Maryam", nation="GB", year="2015")  # a coordinator joined lists
    _household(world, (merged, "head"), (guest, "child"))
    pair = _queue(world, kept_id, merged)
    before = _snapshot(world)

    with pytest.raises(AccessDenied):
        review.decide_pair(pair, True, world.who["liaison"], world.system.uow())
    assert _snapshot(world) == before

    # merged by a coordinator, the undo would move the British child back: not the liaison's
    review.decide_pair(pair, True, world.who[COORD], world.system.uow())
    during = _snapshot(world)
    with pytest.raises(AccessDenied):
        review.undo_merge(
            _merge_id(world, kept_id, merged), world.who["liaison"], world.system.uow()
        )
    assert _snapshot(world) == during


def test_a_merge_number_that_does_not_exist_gets_the_same_audited_refusal(world: World):
    with pytest.raises(AccessDenied):
        review.undo_merge(987654, world.who["liaison"], world.system.uow())
    last = _audit(world)[-1]
    assert (last.action, last.outcome, last.entity_id) == ("person.merge_undo", "denied", "987654")


def test_reading_the_merges_of_a_record_is_audited(world: World):
    review.merges_of(world.ru_person, world.who[COORD], world.system.uow())
    last = _audit(world)[-1]
    assert (last.action, last.entity_id, last.outcome) == (
        "person.merges",
        str(world.ru_person),
        "ok",
    )


# -- concurrency --------------------------------------------------------------------------------
def test_two_reviewers_deciding_the_same_pair_merge_once(world: World):
    kept_id = _person(world, "Nilufar")
    _household(world, (kept_id, "head"))
    head, _, _ = _sign_up(world, "Nilufar")
    pair = _queue(world, kept_id, head)
    both_read = threading.Barrier(2, timeout=3)

    def wait_for_the_other() -> None:
        # both reviewers have read the pair "waiting for review"; or the other one is held
        # back (as it must be), and this one goes on alone
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()

    reviewers = hooked(world.system, Hooks().after("linkage.pair", wait_for_the_other))
    outcomes: list[object] = []

    def decide() -> None:
        try:
            outcomes.append(review.decide_pair(pair, True, world.who[COORD], reviewers.uow()))
        except Exception as e:  # the outcome is what the test looks at
            outcomes.append(e)

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "int"], outcomes
    with world.system.engine.connect() as c:
        assert c.scalar(sa.select(sa.func.count()).select_from(t.person_merge)) == 1
    _check_invariants(world)


def test_two_reviewers_undoing_the_same_merge_undo_it_once(world: World):
    kept_id = _person(world, "Nilufar")
    _household(world, (kept_id, "head"))
    head, _, _ = _sign_up(world, "Nilufar")
    before = _snapshot(world)
    review.decide_pair(_queue(world, kept_id, head), True, world.who[COORD], world.system.uow())
    merge = _merge_id(world, kept_id, head)
    both_read = threading.Barrier(2, timeout=3)

    def wait_for_the_other() -> None:  # both have read the merge, or the other is held back
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()

    reviewers = hooked(world.system, Hooks().after("linkage.merge_row", wait_for_the_other))
    outcomes: list[object] = []

    def undo() -> None:
        try:
            outcomes.append(review.undo_merge(merge, world.who[COORD], reviewers.uow()))
        except Exception as e:  # the outcome is what the test looks at
            outcomes.append(e)

    threads = [threading.Thread(target=undo) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "int"], outcomes
    assert _snapshot(world) == before


def test_a_run_does_not_merge_into_a_record_a_reviewer_merged_while_it_ran(world: World):
    """The run reads the registry, a reviewer merges the record the run would keep into a
    third one, then the run writes: it must not merge into the now-merged record (the sign-up's
    child would join a household where the person no longer stands)."""
    signed, (child,), signed_hh = _sign_up_same_student(world)
    other = _person(world, "Nilufar")  # another record of the same student, further along
    other_hh = _household(world, (other, "head"))
    _set_status(world, other, "called_forward")
    pair = _queue(world, world.ru_person, other)
    done: list[int | None] = []

    def reviewer_meanwhile(stage: str, n: int, total: int) -> None:
        if stage == "blocking" and not done:
            done.append(review.decide_pair(pair, True, world.who[COORD], world.system.uow()))

    linkage.run_linkage(world.who[COORD], world.system.uow, progress=reviewer_meanwhile)

    assert done == [other] and _row(world, world.ru_person).merged_into == other
    _check_invariants(world)
    standing = _row(world, signed).merged_into or signed
    assert _row(world, child).household_id == _row(world, standing).household_id
    assert _row(world, child).household_id in (signed_hh, other_hh)


def _sign_up_same_student(world: World) -> tuple[int, list[int], int]:
    receipt = signup.register_household(
        SAME_STUDENT,
        [(people.PersonInput(given_name="Maryam", sex="F", date_of_birth="2019"), "child")],
        "10.0.0.9",
        world.system.uow(),
    )
    with world.system.engine.connect() as c:
        ids = list(
            c.scalars(
                sa.select(t.person.c.id)
                .where(t.person.c.household_id == receipt.household_id)
                .order_by(t.person.c.id)
            )
        )
    return ids[0], ids[1:], receipt.household_id


# -- a run that stops half-way ---------------------------------------------------------------
def test_a_run_interrupted_while_writing_leaves_nothing_half_written(world: World):
    _sign_up_same_student(world)
    before = _snapshot(world)

    def broken() -> None:
        raise RuntimeError("disk full")

    # the review queue, written after the merges, cannot be written
    failing = hooked(world.system, Hooks().before("linkage.queue_pairs", broken))
    with pytest.raises(RuntimeError):
        linkage.run_linkage(world.who[COORD], failing.uow)
    assert _snapshot(world) == before
    with world.system.engine.connect() as c:
        assert c.scalar(sa.select(sa.func.count()).select_from(t.person_merge)) == 0
        assert list(c.scalars(sa.select(t.link_run.c.status))) == ["failed"]


def test_a_run_stopped_with_ctrl_c_is_not_left_running(world: World):
    def interrupt(stage: str, n: int, total: int) -> None:
        if stage == "blocking":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        linkage.run_linkage(world.who[COORD], world.system.uow, progress=interrupt)
    with world.system.engine.connect() as c:
        assert list(c.scalars(sa.select(t.link_run.c.status))) == ["failed"]
