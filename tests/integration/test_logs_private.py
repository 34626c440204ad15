"""Nothing personal in the server's log: the access log's URLs lose their query strings (a
search's name), and a logged error keeps its traceback but not its words (which can quote a
list's cell or a statement's parameters). A real server (uvicorn, its own log configuration)
answers a real search; every log record is captured at DEBUG."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import uvicorn

from safepassage.adapters.db.engine import make_engine
from safepassage.services import people
from safepassage.services.common import SYSTEM
from safepassage.web.app import create_app
from safepassage.web.background import BackgroundRun
from safepassage.web.deps import SESSION_COOKIE
from tests.integration.conftest import World

CANARY = "Zarghunaqanary"
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _text(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record) + (record.exc_text or "")


@pytest.fixture
def every_record(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, uvicorn's too (its configuration stops them from
    reaching the root logger); uvicorn's loggers as they were afterwards."""
    caplog.set_level(logging.DEBUG)
    saved = {
        n: (lg.handlers[:], lg.propagate, lg.level) for n in UVICORN if (lg := logging.getLogger(n))
    }
    yield caplog
    for name, (handlers, propagate, level) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers, lg.propagate = handlers, propagate
        lg.setLevel(level)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    """Status, Location and body of a GET to the server (a connection of its own, closed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        r = conn.getresponse()
        return r.status, r.getheader("location") or "", r.read().decode()
    finally:
        conn.close()


def test_a_search_for_a_name_leaves_the_name_out_of_every_log_record(
    world: World, client_as: Any, every_record: pytest.LogCaptureFixture
) -> None:
    people.create_person(
        people.PersonInput(given_name=CANARY, family_name="Haidari", sponsoring_nation="RU"),
        SYSTEM,
        world.system.uow(),
    )
    session = client_as("coordinator").cookies.get(SESSION_COOKIE)
    app = create_app(world.system)  # before the server configures its logging, as `serve` does
    port = _port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="debug", access_log=True)
    for name in UVICORN:  # after uvicorn's configuration: its loggers do not propagate
        logging.getLogger(name).addHandler(every_record.handler)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        status, _, page = _get(port, f"/people?q={CANARY}", f"{SESSION_COOKIE}={session}")
        assert status == 200 and CANARY in page  # the search ran and found her
        status, location, _ = _get(port, f"/people?q={quote(CANARY + ' Haidari')}")
        assert status == 303 and CANARY in location  # logged out: sent to log in, ?next=
    finally:
        server.should_exit = True
        thread.join(10)
    records = every_record.records
    access = [r for r in records if r.name == "uvicorn.access"]
    assert len(access) == 2 and all("/people?…" in _text(r) for r in access)
    assert [_text(r) for r in records if CANARY.lower() in _text(r).lower()] == []


def test_a_failed_background_run_is_logged_with_its_traceback_but_not_its_words(
    world: World, every_record: pytest.LogCaptureFixture
) -> None:
    create_app(world.system)  # installs the log's filters

    def work() -> dict[str, Any]:
        try:
            int(CANARY)  # a cell that should have been a number: its words quote it
        except ValueError as e:
            raise RuntimeError(f"row 12 ({CANARY}) could not be read") from e
        return {}

    run = BackgroundRun("import into source 3", "busy")
    run.start("liaison.user", work)
    state = run.wait_for(lambda s: "finished" in s, 20)
    assert CANARY in state["error"]  # the page that started it says what stopped it
    (record,) = [r for r in every_record.records if r.name == "safepassage.web.background"]
    text = _text(record)
    assert "import into source 3 failed" in text and "RuntimeError" in text
    assert "ValueError" in text and "work" in text  # where it happened, and what led to it
    assert CANARY not in text and CANARY.lower() not in text.lower()


def test_a_database_error_does_not_quote_the_values_it_was_given(world: World) -> None:
    engine = make_engine(world.system.settings.database_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as e, engine.begin() as c:
            c.execute(sa.text("INSERT INTO no_such_table (name) VALUES (:n)"), {"n": CANARY})
    finally:
        engine.dispose()
    assert CANARY not in str(e.value)
