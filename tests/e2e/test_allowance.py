"""Browser: a destination on Free (10 products) selects 12 of its source's products and syncs
them: Syncer refuses the whole selection in a banner that says why, with a link to Plan &
billing, which opens in the app."""

import pytest
from playwright.sync_api import expect

from products.models import ProductJob, ProductLink, SourceProduct
from tests.e2e.admin import DEST, go_to, open_app, source_and_destination_connected

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_sync_past_the_allowance_says_why_and_links_to_plan_and_billing(page, embedded,
                                                                          artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    connection = source_and_destination_connected(embedded)
    # 12 of the source's products in the catalogue mirror, none synced
    for n in range(12):
        SourceProduct.objects.create(shop=connection.source, shopify_id=8_000 + n,
                                     title=f"Enamel mug {n:02d}", vendor="Acme")

    app = open_app(page, embedded, DEST)
    go_to(page, "Products")
    app.get_by_text("Enamel mug 00", exact=True).wait_for()
    app.get_by_label("Select all on this page").check()
    app.get_by_role("button", name="Sync selected").click()
    # (first what the sync creates, then Confirm: tests/e2e/test_override_warnings.py)
    app.locator("[data-confirm-panel]").get_by_role("button", name="Confirm").click()

    banner = app.locator("[data-failure]")
    expect(banner).to_contain_text(
        "Your Free plan syncs up to 10 products. 0 are synced, so 10 more can be; you chose "
        "12. Choose fewer, or upgrade your plan.")
    upgrade = banner.get_by_role("link", name="Upgrade your plan")
    expect(upgrade).to_have_attribute("href", "/billing/")
    page.screenshot(path=str(artifacts / "1-refused.png"))
    assert (ProductJob.objects.count(), ProductLink.objects.count()) == (0, 0)

    # the link opens Plan & billing inside the app
    upgrade.click()
    app.locator("[data-current-plan]").wait_for()
    assert app.locator("[data-usage]").inner_text() == "0 of 10"
    page.screenshot(path=str(artifacts / "2-plan-and-billing.png"))
