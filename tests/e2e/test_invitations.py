"""A source invites a store by email; the invited owner installs Syncer, pastes the code from
the email and is connected; the source sees the invitation accepted. A withdrawn one's code
connects nothing."""

import re

import pytest
from django.core import mail

from tests.e2e.admin import DEST, SOURCE, confirm_in_admin, go_to, open_app

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def code_in(message) -> str:
    found = re.search(r"syncer_invite_[A-Za-z0-9_-]+", message.body)
    assert found, message.body
    return found.group(0)


def test_an_invited_store_connects_with_the_emailed_code(page, embedded, artifacts):
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    mail.outbox.clear()

    # the source owner picks Source, opens Stores and invites two addresses
    app = open_app(page, embedded, SOURCE)
    app.get_by_text("Source", exact=True).click()
    app.get_by_role("button", name="Save role").click()
    app.locator("#store-key-value").wait_for()
    go_to(page, "Stores")
    app.get_by_role("button", name="Send invitation").click()
    assert app.locator("#invite-email-error").inner_text() == (
        "Enter the email address of the store's owner.")
    for email, name in (("owner@dest-one.example", "Demo Dest 1"),
                        ("someone@else.example", "")):
        app.get_by_label("Email of the store's owner").fill(email)
        app.get_by_label("Store name (optional)").fill(name)
        app.get_by_role("button", name="Send invitation").click()
        app.locator(f'tr[data-invitation="{email}"]').wait_for()
    rows = app.locator("tr[data-invitation]")
    assert rows.count() == 2
    assert "Waiting to connect" in app.locator(
        'tr[data-invitation="owner@dest-one.example"]').inner_text()
    page.screenshot(path=str(artifacts / "1-invitations-pending.png"))
    invited = next(m for m in mail.outbox if m.to == ["owner@dest-one.example"])
    other = next(m for m in mail.outbox if m.to == ["someone@else.example"])

    # a second Resend straight away is refused in a red banner, and no email goes
    app.locator('tr[data-invitation="owner@dest-one.example"]').get_by_role(
        "button", name="Resend").click()
    banner = app.locator("[role=alert].banner-critical")
    banner.wait_for()
    assert banner.inner_text().splitlines()[0] == (
        "The invitation to owner@dest-one.example was sent less than a minute ago. Give it a "
        "moment to arrive.")
    assert len(mail.outbox) == 2

    # and withdraws the second one
    app.locator('tr[data-invitation="someone@else.example"]').get_by_role(
        "button", name="Withdraw").click()
    confirm_in_admin(page, "Withdraw")
    app.locator('tr[data-invitation="someone@else.example"]').get_by_text(
        "Withdrawn").wait_for()

    # the invited owner installs Syncer, picks Destination and pastes the code
    app = open_app(page, embedded, DEST)
    app.get_by_text("Destination", exact=True).click()
    app.get_by_role("button", name="Save role").click()
    app.get_by_role("link", name="Go to Sources").click()
    # the withdrawn invitation's code is refused in plain words
    app.get_by_label("Source store key or invitation code").fill(code_in(other))
    app.get_by_role("button", name="Connect").click()
    app.get_by_text("This invitation code no longer works").wait_for()
    app.get_by_label("Source store key or invitation code").fill(code_in(invited))
    app.get_by_role("button", name="Connect").click()
    # (the check before connecting: tests/e2e/test_connect_check.py)
    app.get_by_role("button", name="Confirm connection").click()
    app.get_by_text("Demo Source", exact=True).wait_for()
    assert app.locator("#sources .badge-success").inner_text() == "Connected"

    # the source sees the invitation accepted and the store under Connected
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    accepted = app.locator('tr[data-invitation="owner@dest-one.example"]')
    accepted.get_by_text("Accepted").wait_for()
    assert "Demo Dest 1 connected" in accepted.inner_text()
    assert accepted.get_by_role("button", name="Resend").count() == 0
    assert app.locator('[role=tab][aria-selected=true]').inner_text().split() == ["Connected",
                                                                                  "1"]
    page.screenshot(path=str(artifacts / "2-invitation-accepted.png"))
