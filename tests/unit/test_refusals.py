"""A refusal is on record whatever happens to the work around it (services/common.py), shown
on an in-memory unit of work: no database is needed to prove the order of events."""

from __future__ import annotations

import pytest

from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.errors import AccessDenied
from safepassage.services import auth
from safepassage.services.common import audit, authorize, refuse
from tests.fakes import FakeUnitOfWork

VIEWER = Principal(user_id=7, username="viewer", role=Role.VIEWER, source="10.0.0.7")
LIAISON = Principal(user_id=8, username="de.liaison", role=Role.LIAISON, nation="DE", source="x")


def test_a_role_refused_an_action_is_told_why_and_the_refusal_is_committed() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(AccessDenied, match=r"a viewer may not do users\.manage"):
        auth.revoke_token(42, VIEWER, uow)
    [entry] = uow.audit.committed
    assert entry["outcome"] == "denied"
    assert entry["action"] == "users.manage"
    assert entry["entity"] == "token" and entry["entity_id"] == "42"
    assert entry["username"] == "viewer" and entry["source"] == "10.0.0.7"
    assert entry["detail"]["reason"] == "a viewer may not do users.manage"


def test_work_done_before_a_refusal_is_dropped_and_only_the_refusal_is_kept() -> None:
    uow = FakeUnitOfWork()
    with uow:
        audit(uow, LIAISON, "person.write", "person", 1)  # done, not yet committed
        error = refuse(uow, LIAISON, "person.write", "person", 2, "another nation's person")
    assert str(error) == "another nation's person"
    assert [e["entity_id"] for e in uow.audit.committed] == ["2"]
    assert uow.audit.committed[0]["outcome"] == "denied"


def test_a_refusal_stays_on_record_when_the_use_case_then_fails() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(RuntimeError), uow:
        refuse(uow, LIAISON, "plan.run", reason="a liaison may not plan")
        audit(uow, LIAISON, "plan.run", outcome="ok")  # never committed
        raise RuntimeError("the use case broke after refusing")
    assert [e["outcome"] for e in uow.audit.committed] == ["denied"]
    assert uow.audit.pending == []


def test_a_form_page_for_an_allowed_action_writes_nothing() -> None:
    uow = FakeUnitOfWork()
    authorize(LIAISON, Action.POLICY_WRITE, uow)
    assert uow.audit.committed == [] and uow.commits == 0
