"""Browser: a destination owner, inside the emulated Shopify admin, opens Help from the app's
menu, reads an answer, looks at the diagnostic summary the form would attach, and writes to
support; the page confirms and the email is out."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.admin import (
    DEST,
    SOURCE,
    go_to,
    open_app,
    source_and_destination_connected,
    wait_for_title,
)
from tests.walkthrough import PAGE_FACTS, accessibility_problems, page_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_open_help_read_an_answer_and_write_to_support(page, embedded, artifacts, mailoutbox):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a destination connected to a source, open in its admin
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST)

    # when the owner picks Help, last in the app's menu
    go_to(page, "Help")
    wait_for_title(page, "Help")
    # then the page passes the walk-through's checks (looks, words, accessibility)
    frame = page.frames[1]
    assert page_problems(path="/help/", facts=frame.evaluate(PAGE_FACTS)) == []
    assert accessibility_problems(frame, path="/help/") == []

    # and opens an answer
    answer = app.locator("#faq-order-push")
    expect(answer.get_by_text("Never sent: discount codes")).to_be_hidden()
    answer.get_by_text("What does an order carry when it is pushed to the source?").click()
    expect(answer.get_by_text("Never sent: discount codes")).to_be_visible()
    expect(answer.get_by_role("link", name="Order settings")).to_be_visible()
    page.screenshot(path=str(artifacts / "answer.png"))

    # and looks at what the form would attach
    form = app.locator("#contact")
    expect(form.get_by_label("Attach my store's diagnostic summary")).to_be_checked()
    expect(form.get_by_label("Reply-to email")).to_have_value(f"owner@{DEST}")
    form.get_by_text("See exactly what is attached").click()
    expect(form.locator("#diagnostics-text")).to_contain_text(f"Store: {DEST}")
    page.screenshot(path=str(artifacts / "preview.png"))

    # a message without a subject is refused at the field
    form.get_by_label("Message").fill("Stock of SHIRT-S is 3 here but 5 at the source.")
    form.get_by_role("button", name="Send").click()
    expect(app.locator("#contact-subject-error")).to_have_text("Enter a subject.")
    assert mailoutbox == []

    # then, with a subject, it is sent
    form = app.locator("#contact")
    form.get_by_label("Subject").fill("Stock looks wrong")
    form.get_by_role("button", name="Send").click()
    expect(app.locator("#contact-sent")).to_have_text(
        f"Sent. We answer within one business day at owner@{DEST}.")
    page.screenshot(path=str(artifacts / "sent.png"), full_page=True)
    # the form is cleared for another message
    expect(app.locator("#contact").get_by_label("Subject")).to_have_value("")
    expect(app.locator("#contact").get_by_label("Message")).to_have_value("")

    [email] = mailoutbox
    assert email.to == [settings.SYNCER_SUPPORT_EMAIL]
    assert email.reply_to == [f"owner@{DEST}"]
    assert email.subject == f"[Syncer support] Stock looks wrong ({DEST})"
    [(name, content, _)] = email.attachments
    assert name == "diagnostics.txt"
    assert f"Store: {DEST}" in content


def test_help_of_a_source_and_of_a_store_with_no_role_passes_the_walks_checks(page, embedded):
    page.set_default_timeout(60_000)
    source_and_destination_connected(embedded)
    newcomer = "demo-newcomer.myshopify.com"
    embedded.shop_create(newcomer, name="Newcomer")
    embedded.install(newcomer)
    for shop in (SOURCE, newcomer):
        app = open_app(page, embedded, shop, "/help/")
        wait_for_title(page, "Help")
        frame = page.frames[1]
        assert page_problems(path=f"{shop} /help/", facts=frame.evaluate(PAGE_FACTS)) == []
        assert accessibility_problems(frame, path=f"{shop} /help/") == []
        app.get_by_text("See exactly what is attached").click()
        expect(app.locator("#diagnostics-text")).to_contain_text(f"Store: {shop}")
