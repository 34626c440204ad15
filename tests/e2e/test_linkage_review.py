"""A coordinator works the "Same person?" queue in Chromium against a real server.

The seeded operation's lists overlap (the same people under other spellings) and its build ran
the linkage, so pairs wait for review. The coordinator compares a pair side by side, merges it,
finds the merge on the kept record's page, and undoes it: the merged record stands on its own
again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import log_in

if TYPE_CHECKING:
    from tests.e2e.conftest import SeededOperation

pytestmark = pytest.mark.e2e


def test_a_coordinator_merges_a_pair_from_the_queue_and_undoes_the_merge(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    page = open_page()
    log_in(page, seeded_operation.coordinator)

    page.get_by_role("link", name="Same person?").click()
    expect(page.locator("h1")).to_contain_text("Same person?")
    pair = page.locator("section.pair").first
    expect(pair).to_be_visible()
    # the two records side by side, with the evidence for each field and its weight
    expect(pair.locator("th[scope=row]", has_text="Given name")).to_have_count(1)
    expect(pair.locator("th[scope=row]", has_text="Household")).to_have_count(1)
    ids = [
        int(h.removeprefix("/people/"))
        for h in pair.locator("thead a").evaluate_all("links => links.map(a => a.pathname)")
    ]
    assert len(ids) == 2

    pair.get_by_role("button", name="The same person: merge").click()
    notice = page.locator("p.notice")
    expect(notice).to_contain_text("Merged: record #")
    match = re.search(r"record #(\d+)", notice.inner_text())
    assert match
    kept = int(match.group(1))
    merged = next(i for i in ids if i != kept)
    assert kept in ids

    page.goto(f"/people/{merged}")
    expect(page.locator("p.notice")).to_contain_text(f"The same person as record #{kept}")
    page.goto(f"/people/{kept}")
    section = page.locator("section", has=page.locator("h2", has_text="Records of the same person"))
    row = section.locator("tr", has=page.locator(f'a[href="/people/{merged}"]'))
    row.get_by_role("button", name="Undo this merge").click()

    expect(page).to_have_url(re.compile(rf"/people/{merged}$"))
    expect(page.locator("p.notice", has_text="The same person as record")).to_have_count(0)
