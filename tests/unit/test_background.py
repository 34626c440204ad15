"""Long work started from a page (web/background.py): what it keeps once it has stopped."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest

from safepassage.domain.errors import InvalidInput
from safepassage.web.background import BackgroundRun, State, error_of


class ParsedList:
    """Stands for the data a run works on (an import's parsed rows)."""


def _run_until_stopped(work_raises: type[Exception]) -> tuple[State, weakref.ref[ParsedList]]:
    run = BackgroundRun("import into source 1", "busy")
    seen: list[weakref.ref[ParsedList]] = []

    def work() -> State:
        rows = ParsedList()
        seen.append(weakref.ref(rows))
        try:
            raise KeyError("a cell the checker could not read")
        except KeyError as e:  # the usual shape: a fault raised from another
            raise work_raises("row 3: the date of birth is not a date") from e

    run.start("coordinator", work)
    state = run.wait_for(lambda s: "finished" in s, timeout=10)
    gc.collect()
    return state, seen[0]


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="safepassage.web.background")


def test_a_run_stopped_by_a_fault_keeps_its_words_and_none_of_its_data() -> None:
    state, rows = _run_until_stopped(RuntimeError)
    assert state["error"] == "RuntimeError: row 3: the date of birth is not a date"
    assert "exception" not in state
    assert rows() is None  # nothing kept reaches the work's data


def test_a_run_stopped_by_the_systems_own_error_keeps_it_bare_for_the_page() -> None:
    state, rows = _run_until_stopped(InvalidInput)
    kept = state["exception"]
    assert isinstance(kept, InvalidInput)
    assert str(kept) == "row 3: the date of birth is not a date"
    assert kept.__traceback__ is None and kept.__cause__ is None and kept.__context__ is None
    assert rows() is None


def test_the_page_raises_a_copy_so_the_kept_error_never_carries_the_request() -> None:
    state, _ = _run_until_stopped(InvalidInput)
    raised = error_of(state)
    assert raised is not state["exception"]
    assert isinstance(raised, InvalidInput) and raised.errors == state["exception"].errors
    with pytest.raises(InvalidInput):
        raise raised
    assert state["exception"].__traceback__ is None
