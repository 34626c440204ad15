"""A nation liaison at work, in Chromium against a real server.

The liaison of RU logs in, finds a person on RU's list under another spelling of their name and
opens the record; a person on the list of the US neither shows in the liaison's search nor opens
for them, and the refusal is in the audit trail a coordinator reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, Response, expect

from tests.e2e.helpers import log_in

if TYPE_CHECKING:
    from tests.e2e.conftest import KnownPerson, SeededOperation

pytestmark = pytest.mark.e2e

VARIANT_SPELLING = "Mohammed Abdurrahman Karimi"
"""How another list spells Muhammad (son of) Abdul Rahman Karimi."""


def search_people(page: Page, text: str) -> Locator:
    """Type into the search box as a person does and wait for htmx to replace the results."""

    def is_the_search(r: Response) -> bool:
        query = parse_qs(urlsplit(r.url).query)
        return (
            urlsplit(r.url).path == "/people"
            and query.get("q") == [text]
            and r.request.headers.get("hx-request") == "true"
        )

    with page.expect_response(is_the_search) as searched:
        page.locator("#q").fill(text)
    assert searched.value.status == 200
    # htmx swaps the fragment in and pushes the search's URL (a search can be bookmarked)
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [text])
    return page.locator("#results")


def row_of(results: Locator, person: KnownPerson) -> Locator:
    """The row of the results that links to ``person``'s record."""
    link = results.page.locator(f'a[href="/people/{person.id}"]')
    return results.locator("tbody tr").filter(has=link)


def test_a_liaison_finds_a_person_of_its_nation_by_a_variant_spelling_and_opens_the_record(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    student = seeded_operation.ru_student
    page = open_page()
    log_in(page, seeded_operation.liaison)

    page.get_by_role("link", name="People", exact=True).click()
    expect(page.locator("h1")).to_have_text("People")
    results = search_people(page, VARIANT_SPELLING)

    row = row_of(results, student)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_contain_text(student.name)
    expect(row.locator("td").nth(2)).to_have_text(student.father_name)
    expect(row.locator("td").nth(6)).to_have_text("RU")

    row.get_by_role("link", name=student.name).click()
    expect(page).to_have_url(f"/people/{student.id}")  # resolved against the base URL
    expect(page.locator("h1")).to_contain_text(student.name)
    expect(page.locator("h1")).to_contain_text(f"#{student.id}")
    # the date as written on the tazkira, in the Solar Hijri calendar, and its Gregorian day
    expect(page.locator("dt:text-is('Date of birth') + dd")).to_have_text(
        "1370/05/12 (SH) = 1991-08-03"
    )
    expect(page.locator("dt:text-is('On the list of') + dd")).to_have_text("RU")


def test_a_liaison_neither_finds_nor_may_open_a_person_of_another_nation_and_the_refusal_is_audited(
    open_page: Callable[[], Page], seeded_operation: SeededOperation
) -> None:
    other = seeded_operation.us_staff
    liaison = seeded_operation.liaison
    page = open_page()
    log_in(page, liaison)

    # searching for the other nation's person by their exact name shows nobody
    page.goto("/people")
    results = search_people(page, other.name)
    expect(results.locator(".empty")).to_have_text(f"Nobody you may see matches “{other.name}”.")
    expect(results.locator("table")).to_have_count(0)
    expect(results.locator(f'a[href="/people/{other.id}"]')).to_have_count(0)

    # opening the record by its number is refused, and the page says it was recorded
    response = page.goto(f"/people/{other.id}")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.get_by_text("This refusal has been recorded.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(other.given_name)
    expect(page.locator("main")).not_to_contain_text(other.family_name)

    # a coordinator, in a browser of their own, finds the refusal in the audit trail
    coordinator = open_page()
    log_in(coordinator, seeded_operation.coordinator)
    coordinator.goto(
        f"/audit?action=person.view&username={liaison.username}&entity=person&entity_id={other.id}"
    )
    rows = coordinator.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text(liaison.username)
    expect(cells.nth(2)).to_have_text("liaison")
    expect(cells.nth(4)).to_have_text("person.view")
    expect(cells.nth(5)).to_have_text(f"person {other.id}")
    expect(cells.nth(6)).to_have_text("denied")
    expect(cells.nth(7)).to_contain_text("not on a list you may see")

    # and the coordinator's own search shows the person, so the liaison's was held back by scope
    coordinator.goto("/people")
    expect(row_of(search_people(coordinator, other.name), other)).to_have_count(1)
