"""Shared by the browser tests: logging in as a person does."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Login


def log_in(page: Page, who: Login) -> Page:
    page.goto("/login")
    page.locator("#username").fill(who.username)
    page.locator("#password").fill(who.password)
    page.locator("button.primary").click()
    expect(page.locator("header .whoami")).to_contain_text(who.username)
    return page
