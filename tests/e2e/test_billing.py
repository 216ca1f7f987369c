"""Plan & billing in the emulated admin: a destination chooses a plan in Syncer, approves (or
declines) it on Shopify's confirmation page in the admin's whole window, and comes back to
Syncer showing what Shopify confirmed; it upgrades, then cancels back to Free."""

import re

import pytest

from stores.models import Subscription
from tests.e2e.admin import (
    DEST,
    SOURCE,
    confirm_in_admin,
    go_to,
    open_app,
    source_and_destination_connected,
)
from tests.walkthrough import accessibility_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONFIRMATION = re.compile(
    rf"/admin/{re.escape(DEST)}/charges/\d+/confirm_recurring_application_charge")


def choose(page, app, plan: str, *, addon: bool) -> None:
    """Chooses `plan` on Plan & billing and waits for Shopify's confirmation page to fill the
    admin's window."""
    switch = app.get_by_role("switch", name="With the Orders add-on")
    switch.set_checked(addon)
    app.get_by_role("button", name=f"Choose {plan}").click()
    page.wait_for_url(CONFIRMATION)


def current_plan(app) -> str:
    return app.locator("[data-current-plan]").get_attribute("data-current-plan")


def test_choose_approve_upgrade_and_cancel(page, embedded, artifacts):
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST)
    # The destination opens Plan & billing from the app's menu: it is on Free
    go_to(page, "Plan & billing")
    app.get_by_role("heading", name="You're on Free").wait_for()
    assert app.locator("[data-usage]").inner_text() == "0 of 10"
    assert accessibility_problems(page.frames[1], path="/billing/") == []
    page.screenshot(path=str(artifacts / "1-free.png"))

    # It chooses Growth with the Orders add-on: Shopify's page asks it to approve the charge
    choose(page, app, "Growth", addon=True)
    confirmation = page.locator("main")
    confirmation.get_by_text("Syncer Growth + Orders add-on").wait_for()
    assert "Test charge" in confirmation.inner_text()
    page.screenshot(path=str(artifacts / "2-confirmation.png"))
    page.get_by_role("button", name="Approve").click()

    # Back in Syncer: on Growth with the add-on, as Shopify confirmed
    page.wait_for_url(re.compile(rf"/admin/{re.escape(DEST)}/apps/syncer/billing/return"))
    app = page.frame_locator("iframe")
    notice = app.locator("[data-billing-notice]")
    notice.wait_for()
    assert notice.inner_text().strip() == "You're on Growth with the Orders add-on."
    assert current_plan(app) == "growth"
    assert app.locator("[data-addon]").get_attribute("data-addon") == "on"
    assert app.locator("[data-usage]").inner_text() == "0 of 250"
    assert app.locator("[data-test-charge]").is_visible()
    assert app.locator("[data-trial-ends]").is_visible()  # the first paid plan's trial
    assert accessibility_problems(page.frames[1], path="/billing/return") == []
    page.screenshot(path=str(artifacts / "3-growth.png"))

    # It upgrades to Pro, keeping the add-on
    choose(page, app, "Pro", addon=True)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/billing/return\?charge_id=\d+"))
    app = page.frame_locator("iframe")
    app.locator("[data-billing-notice]",
                has_text="You're on Pro with the Orders add-on.").wait_for()
    assert current_plan(app) == "pro"
    statuses = {row["name"]: row["status"] for row in embedded.subscriptions(DEST)}
    assert statuses == {"Syncer Growth + Orders add-on": "CANCELLED",
                        "Syncer Pro + Orders add-on": "ACTIVE"}

    # It cancels (after confirming): back to Free, without the add-on
    app.get_by_role("button", name="Cancel plan").click()
    question = confirm_in_admin(page, "Cancel plan")
    app.get_by_role("heading", name="You're on Free").wait_for()
    assert question[0] == "Cancel Pro with the Orders add-on?"
    assert app.locator("[data-addon]").get_attribute("data-addon") == "off"
    assert embedded.subscriptions(DEST)[-1]["status"] == "CANCELLED"
    assert not Subscription.objects.filter(status=Subscription.Status.ACTIVE).exists()
    page.screenshot(path=str(artifacts / "4-cancelled.png"))


def test_declining_keeps_the_plan_and_says_so(page, embedded, artifacts):
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST, "/billing/")
    app.get_by_role("heading", name="You're on Free").wait_for()
    choose(page, app, "Starter", addon=False)
    # The merchant declines: Shopify sends them back to the app in the admin
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(rf"/admin/{re.escape(DEST)}/apps/syncer/?$"))
    app = page.frame_locator("iframe")
    app.locator("h1.page-title").wait_for(state="attached")
    go_to(page, "Plan & billing")
    declined = app.locator("[data-billing-declined]")
    declined.wait_for()
    assert declined.inner_text().strip() == "You declined Starter; you're still on Free."
    assert current_plan(app) == "free"
    page.screenshot(path=str(artifacts / "declined.png"))


def test_a_pending_request_links_to_shopify_and_sources_see_it_is_free(page, embedded):
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST, "/billing/")
    choose(page, app, "Starter", addon=True)
    # The merchant leaves the approval page without answering, and comes back to Syncer
    page.go_back()
    app = page.frame_locator("iframe")
    pending = app.locator("[data-billing-pending]")
    pending.wait_for()
    assert "Starter + Orders add-on" in pending.inner_text()
    assert "waiting for your approval in Shopify" in pending.inner_text()
    link = pending.get_by_role("link", name="Approve in Shopify")
    assert link.get_attribute("target") == "_top"
    link.click()
    page.wait_for_url(CONFIRMATION)
    # A source store sees Syncer is free for it
    app = open_app(page, embedded, SOURCE, "/billing/")
    app.get_by_role("heading", name="Syncer is free for source stores").wait_for()
