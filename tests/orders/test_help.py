"""The Help page and its contact form, through the real views with session tokens, the
shop-bound CSRF token and HTMX headers; the email goes through Django's email framework
(pytest-django's mailoutbox) from the Celery task, run eagerly."""

import re

import pytest
from django.conf import settings

from products.models import SyncEvent
from products.sync_events import sync_event_record
from stores.auth import shop_csrf_token
from stores.models import Shop
from stores.plans import shop_entitlement
from tests.htmx_events import said
from tests.orders.conftest import DEST, SOURCE, SOURCE_2

pytestmark = pytest.mark.django_db(transaction=True)

NEWCOMER = "help-newcomer.myshopify.com"
STRANGER = "help-stranger.myshopify.com"


def page_headers(world, domain: str) -> dict[str, str]:
    """A whole-page load (no HX-Request), as the admin's first load of the app."""
    return {"Authorization": f"Bearer {world.emulator.session_token(domain)}",
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def help_page(world, domain: str) -> str:
    response = world.client.get("/help/", headers=page_headers(world, domain))
    assert response.status_code == 200
    return response.content.decode()


def menu(html: str) -> list[str]:
    nav = re.search(r"<ui-nav-menu>(.*?)</ui-nav-menu>", html, re.S)
    assert nav is not None
    return re.findall(r">([^<]+)</a>", nav.group(1))


def installed(world, domain: str) -> Shop:
    world.emulator.shop_create(domain, name=domain.split(".")[0].title())
    world.emulator.install(domain)
    return Shop.objects.get(domain=domain)


def send(world, domain: str = DEST, **fields):
    data = {"name": "Grace", "email": "grace@merchant.example", "subject": "Stock looks wrong",
            "message": "SHIRT-S shows 3 here and 5 at the source.", "attach_diagnostics": "on"}
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    return world.client.post("/help/contact", data, headers=world.headers(domain))


def attachment(email) -> str:
    [(name, content, mimetype)] = email.attachments
    assert (name, mimetype) == ("diagnostics.txt", "text/plain")
    return content


def test_the_page_answers_each_role_and_links_only_its_pages(world):
    # a source: the answers, the Help item last in its menu, links to its own pages only
    page = help_page(world, SOURCE)
    assert "Source or destination: which is my store?" in page
    assert "This store is a <strong>source</strong>" in page
    # (other sections add their items; Help stays last)
    assert menu(page)[:3] == ["Home", "Dashboard", "Stores"]
    assert menu(page)[-1] == "Help"
    assert menu(page).count("Help") == 1
    assert 'href="/stores/"' in page
    assert 'href="/sources/"' not in page
    assert 'href="/orders/settings"' not in page

    # a destination: its Sources, Order settings and its source's Product settings
    page = help_page(world, DEST)
    assert "This store is a <strong>destination</strong>" in page
    assert menu(page)[-1] == "Help"
    assert 'href="/sources/"' in page
    assert 'href="/orders/settings"' in page
    assert f'href="/products/sources/{world.connection.pk}/settings"' in page
    assert 'href="/stores/"' not in page

    # a store with no role yet: the answers, and Home to choose one
    installed(world, NEWCOMER)
    page = help_page(world, NEWCOMER)
    assert "This store has no role yet" in page
    assert menu(page)[0] == "Home"
    assert menu(page)[-1] == "Help"
    assert "System status" in menu(page)
    assert "What does an order carry when it is pushed to the source?" in page
    assert 'href="/sources/"' not in page
    assert 'href="/stores/"' not in page


def test_plan_tiers_and_the_add_on_come_from_the_settings(world, settings):
    settings.SYNCER_PLANS = [
        {"handle": "free", "name": "Free", "products": 5, "price": "0.00"},
        {"handle": "mega", "name": "Mega", "products": 5000, "price": "1234.50"},
        {"handle": "all", "name": "Everything", "products": None, "price": "300.00"},
    ]
    settings.SYNCER_ORDERS_ADDON_PRICE = "12.50"
    settings.SYNCER_TRIAL_DAYS = 7
    page = help_page(world, DEST)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>",
                      re.search(r'id="plan-tiers">(.*?)</table>', page, re.S).group(1))
    assert rows == [("Free", "5 products", "Free"),
                    ("Mega", "5,000 products", "1,234.50 USD per 30 days"),
                    ("Everything", "Unlimited", "300.00 USD per 30 days")]
    assert "(12.50 USD per 30 days, on top of any plan)" in page
    assert "7-day free trial" in page
    assert "Growth" not in page


def test_field_errors_are_inline_and_nothing_is_sent(world, mailoutbox):
    response = send(world, email="not-an-email", subject="   ", message="",
                    attach_diagnostics="maybe")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="contact-email-error" role="alert">Enter a valid email address' in html
    assert 'id="contact-subject-error" role="alert">Enter a subject.' in html
    assert 'id="contact-message-error" role="alert">Write your message.' in html
    assert "Choose on or off." in html
    # what was typed stays
    assert 'value="not-an-email"' in html
    assert 'value="Grace"' in html

    response = send(world, email="", subject="x" * 151, message="y" * 5001)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Enter the email address we should answer." in html
    assert "Shorten subject to 150 characters or fewer (this has 151)." in html
    assert "Shorten message to 5000 characters or fewer (this has 5001)." in html
    assert mailoutbox == []


def test_a_message_goes_to_support_with_reply_to_and_the_summary(world, mailoutbox):
    response = send(world)
    assert response.status_code == 200
    assert said(response) == {"message": "Message sent.", "error": False}
    html = response.content.decode()
    assert "Sent. We answer within one business day at grace@merchant.example." in html
    # the form is cleared, the store's own email back in the reply-to field
    assert 'name="subject" maxlength="150" required value=""' in html
    assert f'value="{world.destination.email}"' in html
    assert "SHIRT-S shows 3" not in html.split("diagnostics-text")[0]

    [email] = mailoutbox
    assert email.to == [settings.SYNCER_SUPPORT_EMAIL]
    assert email.reply_to == ["grace@merchant.example"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == f"[Syncer support] Stock looks wrong ({DEST})"
    assert "SHIRT-S shows 3 here and 5 at the source." in email.body
    assert "From: Grace <grace@merchant.example>" in email.body
    summary = attachment(email)
    assert f"Store: {DEST}" in summary
    assert "Role: Destination" in summary
    entitlement = shop_entitlement(shop=world.destination)
    assert f"Syncer plan: {entitlement.plan.name} (" in summary
    assert f"Orders add-on: {'yes' if entitlement.orders_addon else 'no'}" in summary
    assert "Connections: Connected 2" in summary
    assert f"  - {SOURCE}: Connected" in summary
    assert f"  - {SOURCE_2}: Connected" in summary
    assert "Products synced: 2" in summary
    assert f"API version: {settings.SHOPIFY_API_VERSION}" in summary


def test_the_summary_holds_no_tokens_keys_or_customer_data(world, mailoutbox):
    # given a source with known tokens and its full store key, a sale with a customer, and a
    # failure whose error names an email address
    source = world.source
    full_key = source.store_key
    assert full_key
    source.access_token = "shpat_KNOWN0123456789abcdef"
    source.refresh_token = "shprt_KNOWN0123456789abcdef"
    source.save(update_fields=["access_token", "refresh_token"])
    world.sell({"SHIRT-S": 1})
    sync_event_record(connection=world.connection, kind=SyncEvent.Kind.INVENTORY,
                      result=SyncEvent.Result.FAILED,
                      error="Shopify refused the write for ada@example.com: location inactive")

    # when the source writes to support with its summary
    assert send(world, SOURCE).status_code == 200
    [email] = mailoutbox
    summary = attachment(email)
    everything = summary + email.body + email.subject
    assert "shpat_KNOWN" not in everything
    assert "shprt_KNOWN" not in everything
    assert full_key not in everything
    assert f"Store key: {source.store_key_prefix}… (the start only)" in summary
    for customer in ("Ada", "Lovelace", "ada@example.com", "Analytical", "N1 7AA", "+44"):
        assert customer not in summary
    assert "Shopify refused the write for [email removed]: location inactive" in summary
    assert "Stock updates, last 24 hours:" in summary
    assert "1 failed" in summary


def test_unticked_the_summary_is_not_attached(world, mailoutbox):
    assert send(world, attach_diagnostics=None).status_code == 200
    [email] = mailoutbox
    assert email.attachments == []
    assert "The merchant chose not to attach the store's diagnostic summary." in email.body


def test_five_messages_an_hour_per_store(world, mailoutbox):
    for number in range(5):
        assert send(world, subject=f"Question {number}").status_code == 200
    response = send(world, subject="Question 6")
    assert response.status_code == 422
    html = response.content.decode()
    assert "You have sent 5 messages in the past hour, the most we take from one store." in html
    assert "Try again in 59 minutes" in html or "Try again in 1 hour" in html
    assert 'value="Question 6"' in html  # nothing typed is lost
    assert len(mailoutbox) == 5
    # another store has its own hour
    assert send(world, SOURCE).status_code == 200
    assert len(mailoutbox) == 6


def test_another_stores_data_never_appears(world):
    # given a store nobody connected, and a failure between the destination and the second
    # source (not connected to the first)
    installed(world, STRANGER)
    sync_event_record(connection=world.connection_2, kind=SyncEvent.Kind.INVENTORY,
                      result=SyncEvent.Result.FAILED, error="Second source write refused")

    source_page = help_page(world, SOURCE)
    preview = re.search(r'id="diagnostics-text"[^>]*>(.*?)</pre>', source_page, re.S).group(1)
    assert f"Store: {SOURCE}" in preview
    assert f"  - {DEST}: Connected" in preview
    for other in (SOURCE_2, STRANGER, "Second source write refused"):
        assert other not in preview

    stranger_page = help_page(world, STRANGER)
    preview = re.search(r'id="diagnostics-text"[^>]*>(.*?)</pre>', stranger_page, re.S).group(1)
    assert "Connections: none" in preview
    for other in (SOURCE, SOURCE_2, DEST, "Second source write refused"):
        assert other not in preview
