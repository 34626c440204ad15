"""Real concurrent HTTP requests to a real server (uvicorn, in this process) on SQLite and
PostgreSQL: one pass scanned by several devices at the same moment is admitted once, and a
scanner resending the same scan gets the same answer with nothing recorded twice."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from safepassage.adapters.db import tables as t
from safepassage.services import auth
from safepassage.web.app import create_app
from tests.ecc_helpers import Ecc, family
from tests.integration.conftest import World

DEVICES = 6


@pytest.fixture
def server(world: World) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(world.system), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(timeout=10)


def _at_once(port: int, token: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST every body at the same moment, each from its own connection; the JSON answers."""
    barrier = threading.Barrier(len(bodies))
    out: list[dict[str, Any] | None] = [None] * len(bodies)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def go(i: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.connect()  # connected before the race starts
            barrier.wait()
            c.request("POST", "/api/v1/scans", json.dumps(bodies[i]), headers)
            r = c.getresponse()
            assert r.status == 200, r.read()
            out[i] = json.loads(r.read())
        finally:
            c.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def test_devices_scanning_one_pass_at_the_same_moment_over_http_admit_it_once(
    world: World, server: int
) -> None:
    ecc = Ecc(world)
    hh, ids = family(world, 3)
    issued = ecc.issue(hh)
    token = auth.issue_token(ecc.station_user.user_id, "lanes", ecc.coord, world.system.uow())
    bodies = [
        {"idem_key": f"lane-{i}-0001", "station_id": ecc.gate.id, "text": issued.qr_text}
        for i in range(DEVICES)
    ]
    answers = _at_once(server, token, bodies)
    assert sum(a["ok"] for a in answers) == 1, answers
    assert {a["reason"] for a in answers if not a["ok"]} == {"already_used"}
    with world.system.engine.connect() as c:
        admitted = c.execute(
            sa.select(sa.func.count()).where(
                t.person_event.c.action == "scan", t.person_event.c.outcome == "pass"
            )
        ).scalar_one()
        scans = c.execute(sa.select(sa.func.count()).select_from(t.scan)).scalar_one()
    assert admitted == len(ids) and scans == DEVICES


def test_a_scanner_resending_one_scan_at_once_gets_one_answer_and_one_event_per_person(
    world: World, server: int
) -> None:
    ecc = Ecc(world)
    hh, ids = family(world, 2)
    issued = ecc.issue(hh)
    token = auth.issue_token(ecc.station_user.user_id, "lane", ecc.coord, world.system.uow())
    body = {"idem_key": "lane-1-resend-7", "station_id": ecc.gate.id, "text": issued.code}
    answers = _at_once(server, token, [body] * 4)
    assert {a["scan_id"] for a in answers} == {answers[0]["scan_id"]}
    assert all(a["ok"] and a["outcome"] == "pass" for a in answers)
    with world.system.engine.connect() as c:
        events = c.execute(
            sa.select(sa.func.count()).where(t.person_event.c.action == "scan")
        ).scalar_one()
    assert events == len(ids)
