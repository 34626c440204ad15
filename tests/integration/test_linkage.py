"""Record linkage on the real databases: runs, the review queue, merges and their undo."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.domain.errors import AccessDenied, Conflict
from safepassage.linkage.model import FIELDS
from safepassage.services import linkage, people, signup
from safepassage.services import linkage_review as review
from safepassage.services.common import SYSTEM
from safepassage.services.overview import overview
from tests.integration.conftest import World
from tests.linkage_helpers import EVERYTHING_FOR_REVIEW, SAME_STUDENT


# The same student as the world's Russian-list record, on a sign-up typed in another spelling.
def _row(world: World, person_id: int) -> sa.Row:
    with world.system.engine.connect() as c:
        row = c.execute(sa.select(t.person).where(t.person.c.id == person_id)).first()
    assert row is not None
    return row


def _audit_actions(world: World) -> list[str]:
    with world.system.engine.connect() as c:
        return list(c.scalars(sa.select(t.audit.c.action).order_by(t.audit.c.id)))


def _sign_up_same_student(world: World) -> int:
    receipt = signup.register_household(
        SAME_STUDENT,
        [(people.PersonInput(given_name="Maryam", sex="F", date_of_birth="2019"), "child")],
        "10.0.0.9",
        world.system.uow(),
    )
    with world.system.engine.connect() as c:
        return int(
            c.scalar(
                sa.select(t.signup.c.head_person_id).where(
                    t.signup.c.household_id == receipt.household_id
                )
            )
        )


def test_a_run_merges_a_self_sign_up_into_the_sponsor_record_and_it_is_confirmed(world: World):
    signed = _sign_up_same_student(world)
    before = overview(world.who["coordinator"], world.system.uow()).total

    report = linkage.run_linkage(world.who["coordinator"], world.system.uow)

    assert report.merged == 1
    merged = _row(world, signed)
    assert merged.status == "merged" and merged.merged_into == world.ru_person
    kept = _row(world, world.ru_person)
    assert kept.status == "registered" and not kept.self_declared  # the sponsor vouches
    # households follow: the sign-up's child joins the household the sponsor's record is in
    child = _row(world, signed + 1)
    assert child.household_id == world.ru_household
    assert overview(world.who["coordinator"], world.system.uow()).total == before - 1
    assert "linkage.run" in _audit_actions(world)
    # a second run finds nothing new to merge: merged records are not read again
    again = linkage.run_linkage(world.who["coordinator"], world.system.uow)
    assert again.merged == 0 and again.records == report.records - 1


def test_twins_are_not_merged(world: World):
    twin = people.PersonInput(
        given_name="Ahmad",  # the same parents, day, household phone: another child
        father_name="Abdul Rahman",
        family_name="Karimi",
        sex="M",
        date_of_birth="1370/05/12",
        dob_calendar="solar_hijri",
        nationalities=["AF"],
        category="student",
        sponsoring_nation="RU",
        phone="0701234567",
    )
    other = people.create_person(twin, SYSTEM, world.system.uow())
    linkage.run_linkage(world.who["coordinator"], world.system.uow)
    assert _row(world, other).status == "registered"
    assert _row(world, world.ru_person).status == "registered"


def test_a_reviewer_merges_a_pair_households_follow_and_the_undo_restores_everything(
    world: World,
):
    signed = _sign_up_same_student(world)
    child = signed + 1
    report = linkage.run_linkage(
        world.who["coordinator"], world.system.uow, model=EVERYTHING_FOR_REVIEW
    )
    assert report.merged == 0 and report.review >= 1
    queue, total = review.review_queue(world.who["coordinator"], world.system.uow())
    assert total == report.review
    pair = next(p for p in queue if {p.a.id, p.b.id} == {signed, world.ru_person})
    assert [e.field for e in pair.evidence] == [*FIELDS, "house"]
    counts_before = overview(world.who["coordinator"], world.system.uow()).total

    kept = review.decide_pair(pair.id, True, world.who["coordinator"], world.system.uow())

    assert kept == world.ru_person  # the list's record stands, not the self-declared one
    assert _row(world, signed).status == "merged"
    assert _row(world, child).household_id == world.ru_household
    assert overview(world.who["coordinator"], world.system.uow()).total == counts_before - 1
    with pytest.raises(Conflict):
        review.decide_pair(pair.id, False, world.who["coordinator"], world.system.uow())
    (merge,) = [
        m
        for m in review.merges_of(world.ru_person, world.who["coordinator"], world.system.uow())
        if m["merged_id"] == signed
    ]

    restored = review.undo_merge(merge["id"], world.who["coordinator"], world.system.uow())

    assert restored == signed
    row = _row(world, signed)
    assert row.status == "registered" and row.merged_into is None and row.self_declared
    assert _row(world, child).household_id == row.household_id != world.ru_household
    assert overview(world.who["coordinator"], world.system.uow()).total == counts_before
    with pytest.raises(Conflict):
        review.undo_merge(merge["id"], world.who["coordinator"], world.system.uow())
    actions = _audit_actions(world)
    assert "person.merge" in actions and "person.merge_undo" in actions
    # an undone merge is remembered: the next run neither merges nor queues the pair again
    linkage.run_linkage(world.who["coordinator"], world.system.uow)
    assert _row(world, signed).status == "registered"
    queue, _ = review.review_queue(world.who["coordinator"], world.system.uow())
    assert not any({p.a.id, p.b.id} == {signed, world.ru_person} for p in queue)


def test_not_the_same_person_is_never_proposed_again(world: World):
    _sign_up_same_student(world)
    linkage.run_linkage(world.who["coordinator"], world.system.uow, model=EVERYTHING_FOR_REVIEW)
    queue, total = review.review_queue(world.who["coordinator"], world.system.uow())
    for p in queue:
        review.decide_pair(p.id, False, world.who["coordinator"], world.system.uow())
    linkage.run_linkage(world.who["coordinator"], world.system.uow, model=EVERYTHING_FOR_REVIEW)
    assert review.review_queue(world.who["coordinator"], world.system.uow())[1] == 0
    assert total > 0


def test_who_may_run_and_review(world: World):
    for role in ("liaison", "sponsor", "station", "viewer"):
        with pytest.raises(AccessDenied):
            linkage.run_linkage(world.who[role], world.system.uow)
    for role in ("sponsor", "station", "viewer"):
        with pytest.raises(AccessDenied):
            review.review_queue(world.who[role], world.system.uow())
    _sign_up_same_student(world)
    linkage.run_linkage(world.who["coordinator"], world.system.uow, model=EVERYTHING_FOR_REVIEW)
    # the liaison for Russia sees no pair with a record outside Russia's lists
    queue, total = review.review_queue(world.who["liaison"], world.system.uow())
    assert total == 0 and queue == []
    pair_id = review.review_queue(world.who["coordinator"], world.system.uow())[0][0].id
    with pytest.raises(AccessDenied):
        review.decide_pair(pair_id, True, world.who["liaison"], world.system.uow())
    assert "linkage.decide" in _audit_actions(world)


def test_a_sponsor_sees_the_status_of_its_merged_person_but_not_the_other_sponsors_record(
    world: World,
):
    from safepassage.domain.access import Principal, Role
    from safepassage.services import auth

    org = "American University of Afghanistan"
    uid = auth.create_user(
        auth.NewUser("auaf.sponsor", "a long sponsor password", "sponsor", None, org),
        SYSTEM,
        world.system.uow(),
    )
    auaf = Principal(uid, "auaf.sponsor", Role.SPONSOR, None, org, None, "test")
    theirs = people.create_person(
        dataclasses.replace(SAME_STUDENT, sponsor_org=org), auaf, world.system.uow()
    )
    linkage.run_linkage(world.who["coordinator"], world.system.uow)

    view = people.get_person(theirs, auaf, world.system.uow())
    assert view.person.status.value == "merged"
    assert view.merged_into == (world.ru_person, "registered")  # the person's status, no more
    with pytest.raises(AccessDenied):
        people.get_person(world.ru_person, auaf, world.system.uow())
    with pytest.raises(AccessDenied):  # nor the merge history of the other sponsor's record
        review.merges_of(world.ru_person, auaf, world.system.uow())


def test_a_coordinator_runs_the_linkage_from_the_page_and_watches_it_finish(
    world: World, client_as
):
    import time

    from safepassage.web.routes.pages_linkage import current_run
    from tests.integration.conftest import csrf_of

    _sign_up_same_student(world)
    c = client_as("coordinator")
    page = c.get("/people/duplicates")
    assert "Run the linkage now" in page.text
    r = c.post("/people/duplicates/run", data={"csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    deadline = time.monotonic() + 60
    while "finished" not in current_run():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    progress = c.get("/people/duplicates/progress").text
    assert "Linkage done" in progress and "1 merged" in progress
    assert "error" not in current_run()
    # a liaison may watch the queue but not start a run
    liaison = client_as("liaison")
    assert "Run the linkage now" not in liaison.get("/people/duplicates").text
    refused = liaison.post(
        "/people/duplicates/run", data={"csrf_token": csrf_of(liaison)}, follow_redirects=False
    )
    assert refused.status_code == 403
