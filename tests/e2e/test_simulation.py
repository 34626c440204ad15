"""The what-if page in Chromium: a coordinator runs the airport with one document lane less,
watches the run, and compares it with the day as planned."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SeededOperation
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def run(page: Page, name: str, docs_lanes: str = "") -> None:
    page.goto("/simulation")
    page.locator("input[name=name]").fill(name)
    if docs_lanes:
        page.locator("input[name='lanes.DOCS']").fill(docs_lanes)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("Simulation done.")).to_be_visible()


def test_a_coordinator_compares_the_day_as_planned_with_fewer_document_lanes(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    page = log_in(open_page(), seeded_operation.coordinator)
    page.get_by_role("link", name="What if").click()
    expect(page.get_by_role("heading", name="The airport: what if")).to_be_visible()
    run(page, "as planned")
    run(page, "one document lane", "1")
    page.goto("/simulation")  # the list of runs as it is now
    boxes = page.locator("input[type=checkbox][name=run]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Compare the chosen runs").click()
    expect(page.get_by_role("heading", name="Simulation runs compared")).to_be_visible()
    expect(page.locator("th", has_text="one document lane").first).to_be_visible()
    assert page.locator("svg").count() >= 7  # loads, and a queue chart per station
    expect(page.locator("svg").first).to_have_attribute("aria-label", re.compile("Load"))
