"""The planning board in Chromium: a coordinator makes the first plan and watches its progress,
reads the departures' loads and who is not planned, and calls the next waves forward."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SeededOperation
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def test_a_coordinator_plans_the_operation_and_calls_the_next_waves_forward(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    page = log_in(open_page(), seeded_operation.coordinator)
    page.get_by_role("link", name="Planning").click()
    expect(page.get_by_role("heading", name="Planning board")).to_be_visible()
    page.get_by_role("button", name=re.compile("Make the first plan|Re-plan now")).click()
    # the progress area, then the plan made, without reloading the page
    expect(page.get_by_text("Plan made")).to_be_visible()
    page.get_by_role("link", name="Show it").click()
    expect(page.get_by_role("heading", name="Departures")).to_be_visible()
    bars = page.locator(".loadbar")
    assert bars.count() > 10
    assert "% of seats planned" in (bars.first.get_attribute("aria-label") or "")
    summary = page.get_by_text(re.compile(r"Plan #\d+, made"))
    expect(summary).to_contain_text(re.compile(r"within \d+\.\d\d % of the best possible"))
    expect(page.get_by_role("heading", name="Households not planned")).to_be_visible()
    # the call-forward schedule, and its passes issued in one step
    page.locator("input[name=hours]").fill("24")
    page.get_by_role("button", name="Call forward").click()
    notice = page.get_by_role("status").filter(has_text="households called forward")
    expect(notice).to_be_visible()
    issued = int(re.search(r"(\d+) households called", notice.inner_text()).group(1))  # type: ignore[union-attr]
    assert issued > 0


def test_a_liaison_sees_the_loads_but_not_other_nations_households(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    page = log_in(open_page(), seeded_operation.liaison)
    page.goto("/planning")
    expect(page.get_by_role("heading", name="Planning board")).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile("Re-plan now|Make the first plan"))
    ).to_have_count(0)
    if page.get_by_text("No plan yet").count() == 0:
        expect(
            page.get_by_text(re.compile("households in the plan are not yours to see"))
        ).to_be_visible()
