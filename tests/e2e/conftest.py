"""A real server and a real browser: the seeded operation on SQLite, ``safepassage serve`` as a
separate process, and Debian's Chromium driven by Playwright.

Self-contained on purpose: nothing here depends on the fixtures of ``tests/conftest.py``.
Without Chromium at /usr/bin/chromium the tests are skipped on a developer machine and fail
under CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI") == "true"
SERVER_START_TIMEOUT = 30.0
BROWSER_TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True)
class KnownPerson:
    id: int
    given_name: str
    father_name: str
    family_name: str

    @property
    def name(self) -> str:
        """The name as the pages show it: given name and family name."""
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class SeededOperation:
    database_url: str
    liaison: Login  # a liaison of RU
    coordinator: Login
    ru_student: KnownPerson  # on the list of RU: the liaison may see them
    us_staff: KnownPerson  # on the list of US: the liaison may not


@pytest.fixture(scope="session")
def seeded_operation(tmp_path_factory: pytest.TempPathFactory) -> SeededOperation:
    """A small demo operation (3 000 registrants, seed 7) with two users and two known people."""
    from safepassage.bootstrap import build
    from safepassage.config import load_settings
    from safepassage.services import auth, people
    from safepassage.services.common import SYSTEM
    from safepassage.synthetic.demo import build_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'operation.db'}"
    system = build(load_settings(database_url=url, demo=True))
    try:
        build_demo(system, registrants=3000, seed=7, with_users=False)
        liaison = Login("ru.liaison", "liaison-pass-7f3k9q")
        coordinator = Login("coordinator", "coordinator-pass-2m8x4w")
        auth.create_user(
            auth.NewUser(liaison.username, liaison.password, "liaison", "RU"), SYSTEM, system.uow()
        )
        auth.create_user(
            auth.NewUser(coordinator.username, coordinator.password, "coordinator"),
            SYSTEM,
            system.uow(),
        )
        ru = people.PersonInput(
            given_name="Muhammad",
            father_name="Abdul Rahman",
            family_name="Karimi",
            nationalities=["AF"],
            category="student",
            sponsoring_nation="RU",
            sponsor_org="Kazan Federal University",
            date_of_birth="1370/05/12",
            dob_calendar="solar_hijri",
        )
        us = people.PersonInput(
            given_name="Zarghuna",
            father_name="Sher Agha",
            family_name="Ahmadzai",
            nationalities=["AF"],
            sex="F",
            category="at_risk_staff",
            sponsoring_nation="US",
            sponsor_org="Afghan Interpreters Network",
            date_of_birth="1988-03-14",
        )
        ru_id = people.create_person(ru, SYSTEM, system.uow())
        us_id = people.create_person(us, SYSTEM, system.uow())
    finally:
        system.dispose()  # the server process gets the file to itself
    return SeededOperation(
        url,
        liaison,
        coordinator,
        KnownPerson(ru_id, ru.given_name, ru.father_name or "", ru.family_name or ""),
        KnownPerson(us_id, us.given_name, us.father_name or "", us.family_name or ""),
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _healthy(base_url: str) -> bool:
    try:
        with _DIRECT.open(f"{base_url}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except urllib.error.HTTPError as e:
        e.close()
        return False
    except OSError:  # refused, reset, timed out: not up yet
        return False


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def server_url(
    seeded_operation: SeededOperation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``safepassage serve`` on a free port, in its own process; its base URL."""
    cli = Path(sys.executable).parent / "safepassage"
    if not cli.exists():
        pytest.fail(f"the safepassage command is not installed next to {sys.executable}")
    workdir = tmp_path_factory.mktemp("e2e-server")  # no developer's .env is picked up
    log_path = workdir / "server.log"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEPASSAGE_")}
    env["SAFEPASSAGE_DEMO"] = "true"  # demo mode runs with the demo secret key
    env["SAFEPASSAGE_KEY_FILE"] = os.environ["SAFEPASSAGE_KEY_FILE"]  # kept apart, as in use
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(cli),
                "serve",
                "--db",
                seeded_operation.database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _healthy(base_url):
            if proc.poll() is not None:
                pytest.fail(f"the server exited with code {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the server did not answer /healthz within "
                    f"{SERVER_START_TIMEOUT:.0f} s:\n{_tail(log_path)}"
                )
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API."""
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def open_page(chromium: Browser, server_url: str) -> Iterator[Callable[[], Page]]:
    """Open a page in a fresh browser context (its own cookies: one user per context).

    Script errors on any page (a blocked htmx, a CSP violation) fail the test.
    """
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # an error page's own status (403) is reported as a failed load; that is expected
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(f"console: {msg.text}")

    def new_page() -> Page:
        context = chromium.new_context(base_url=server_url)
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        return page

    yield new_page
    for context in contexts:
        context.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)
