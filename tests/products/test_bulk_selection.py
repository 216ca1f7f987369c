"""Bulk actions on every product matching a search ("Select all N matching"), and the per-row
auto-sync switch, through the real views: the server finds the matches again from the tab and
search, scoped to the requesting shop's connection, whatever ids the page sent."""

import re

import pytest

from products.autosync import product_links_auto_sync_set
from products.models import ProductJob, ProductLink, SourceProduct, SyncEvent
from stores.auth import shop_csrf_token
from stores.models import Connection
from tests.htmx_events import said
from tests.orders.dashboard_world import session_headers
from tests.stores.factories import ConnectionFactory, subscription_active

# Not transactional: the import job is queued on commit, which never comes, so no task runs
# and the job keeps the product ids it was given.
pytestmark = pytest.mark.django_db


def toast(response) -> dict:
    return said(response)


def as_destination(connection: Connection) -> dict[str, str]:
    domain = connection.destination.domain
    return {**session_headers(connection.destination, htmx=True),
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def catalogue(connection: Connection, *, synced: bool) -> dict[str, SourceProduct]:
    """27 shirts and 3 mugs at the connection's source, by title; linked when `synced`."""
    titles = [f"Linen shirt {n:02d}" for n in range(27)] + [f"Stoneware mug {n}"
                                                           for n in range(3)]
    products = {}
    for n, title in enumerate(titles):
        product = SourceProduct.objects.create(shop=connection.source, shopify_id=9_000 + n,
                                               title=title, vendor="Acme")
        products[title] = product
        if synced:
            link(connection, product)
    return products


def link(connection: Connection, product: SourceProduct) -> ProductLink:
    return ProductLink.objects.create(connection=connection, source_product=product,
                                      destination_product_id=70_000 + product.pk,
                                      origin=ProductLink.Origin.IMPORTED)


def auto_sync_by_title(connection: Connection) -> dict[str, bool]:
    return dict(ProductLink.objects.filter(connection=connection)
                .values_list("source_product__title", "auto_sync"))


@pytest.fixture
def shops():
    """Our destination's connection, another destination of the same source, and our
    destination's second source; every one of them with its own synced shirts and mugs."""
    ours = ConnectionFactory()
    other_destination = ConnectionFactory(source=ours.source)
    second_source = ConnectionFactory(destination=ours.destination)
    products = catalogue(ours, synced=True)
    for product in products.values():
        link(other_destination, product)
    catalogue(second_source, synced=True)
    return ours, other_destination, second_source, products


def test_auto_sync_off_for_all_matching_changes_every_match_on_every_page(client, shops):
    ours, other_destination, second_source, products = shops
    # given the search "shirt" matches 27 of 30 synced products (two pages of 25)
    page = client.get(f"/products/sources/{ours.pk}/?q=shirt", headers=as_destination(ours))
    html = page.content.decode()
    assert "Page 1 of 2" in html
    assert "All 25 on this page are selected." in html
    assert "Select all 27 matching</button>" in html
    # when "all matching" is sent with that search (and, from a tampered page, a mug's id)
    response = client.post(f"/products/sources/{ours.pk}/auto-sync", {
        "all_matching": "on", "tab": "all", "q": "shirt", "enabled": "off",
        "product": [products["Stoneware mug 0"].pk]}, headers=as_destination(ours))
    # then exactly the 27 shirts are off; the mugs, and every other connection, are untouched
    assert response.status_code == 200
    assert toast(response) == {"message": "Auto sync off for 27 products: nothing of them syncs "
                                          "until you turn it on again.", "error": False}
    state = auto_sync_by_title(ours)
    assert sorted(title for title, on in state.items() if not on) == [
        f"Linen shirt {n:02d}" for n in range(27)]
    assert sorted(title for title, on in state.items() if on) == [
        "Stoneware mug 0", "Stoneware mug 1", "Stoneware mug 2"]
    assert set(auto_sync_by_title(other_destination).values()) == {True}
    assert set(auto_sync_by_title(second_source).values()) == {True}
    assert SyncEvent.objects.filter(connection=ours, kind="auto_sync").count() == 27
    assert SyncEvent.objects.exclude(connection=ours).count() == 0


def test_unsync_all_matching_in_a_tab_unlinks_only_the_matches(client, shops):
    ours, other_destination, second_source, products = shops
    # given two of the shirts are already off
    ProductLink.objects.filter(connection=ours, source_product__in=[
        products["Linen shirt 03"], products["Linen shirt 04"]]).update(auto_sync=False)
    # when every synced product matching "shirt" is unsynced
    response = client.post(f"/products/sources/{ours.pk}/unsync", {
        "all_matching": "on", "tab": "synced", "q": "SHIRT"}, headers=as_destination(ours))
    # then the 27 shirts are unlinked, off or on; the mugs and other connections keep theirs
    assert toast(response) == {"message": "Unsynced 27 products. They stay in your store as "
                                          "they are.", "error": False}
    assert sorted(auto_sync_by_title(ours)) == [
        "Stoneware mug 0", "Stoneware mug 1", "Stoneware mug 2"]
    assert ProductLink.objects.filter(connection=other_destination).count() == 30
    assert ProductLink.objects.filter(connection=second_source).count() == 30
    # and the list it answers with stays on the tab and search it was on
    assert 'name="q" value="SHIRT"' in response.content.decode()


def test_sync_all_matching_queues_one_job_of_exactly_the_matches(client):
    # given 30 products not synced yet, 27 of them matching "linen"
    ours = ConnectionFactory()
    subscription_active(ours.destination)  # a plan that syncs them all
    products = catalogue(ours, synced=False)
    # when all matching are synced
    response = client.post(f"/products/sources/{ours.pk}/import", {
        "all_matching": "on", "tab": "not_synced", "q": "linen"}, headers=as_destination(ours))
    # then one job of the 27 shirts is queued, with its progress bar
    assert toast(response)["message"] == ("Syncing 27 products. You can leave this page; the "
                                          "sync continues.")
    job = ProductJob.objects.get()
    assert (job.connection_id, job.kind, job.total) == (ours.pk, "import", 27)
    assert sorted(job.source_product_ids) == sorted(
        products[f"Linen shirt {n:02d}"].pk for n in range(27))
    assert 'id="job-progress-bar" max="27"' in response.content.decode()


def test_all_matching_never_reaches_another_shops_connection(client, shops):
    ours, other_destination, second_source, _ = shops
    # when our destination posts "all matching" to another destination's connection
    response = client.post(f"/products/sources/{other_destination.pk}/auto-sync", {
        "all_matching": "on", "q": "shirt", "enabled": "off"}, headers=as_destination(ours))
    unsync = client.post(f"/products/sources/{other_destination.pk}/unsync", {
        "all_matching": "on"}, headers=as_destination(ours))
    # then it does not exist for us, and nothing changed anywhere
    assert (response.status_code, unsync.status_code) == (404, 404)
    assert ProductLink.objects.filter(auto_sync=False).count() == 0
    assert ProductLink.objects.count() == 90
    assert SyncEvent.objects.count() == 0


def test_an_empty_selection_changes_nothing_and_says_why(client, shops):
    ours, *_ = shops
    nothing = client.post(f"/products/sources/{ours.pk}/unsync", {"all_matching": ""},
                          headers=as_destination(ours))
    no_match = client.post(f"/products/sources/{ours.pk}/auto-sync", {
        "all_matching": "on", "q": "teapot", "enabled": "off"}, headers=as_destination(ours))
    bad_flag = client.post(f"/products/sources/{ours.pk}/unsync", {"all_matching": "yes"},
                           headers=as_destination(ours))
    assert nothing.status_code == 422
    assert toast(nothing) == {"message": "Select at least one product first.", "error": True}
    assert no_match.status_code == 422
    assert toast(no_match) == {"message": "No product matches your search any more. Nothing "
                                          "was changed.", "error": True}
    assert bad_flag.status_code == 422
    assert toast(bad_flag) == {"message": "Choose on or off.", "error": True}
    assert ProductLink.objects.filter(auto_sync=False).count() == 0
    assert ProductLink.objects.count() == 90


def test_the_row_switch_flips_one_product_and_answers_its_row(client, shops):
    ours, other_destination, _, products = shops
    mug = products["Stoneware mug 1"]
    url = f"/products/sources/{ours.pk}/products/{mug.pk}/auto-sync"
    # when the mug's switch is turned off
    off = client.post(url, {"enabled": "off"}, headers=as_destination(ours))
    # then only our mug is off, and its row comes back with the switch off
    html = off.content.decode()
    assert off.status_code == 200
    assert html.lstrip().startswith(f'<tr id="catalogue-row-{mug.pk}">')
    # (switched on, it first shows what that changes: tests/products/test_override_preview.py)
    assert re.search(r'role="switch" id="auto-sync-switch-\d+" aria-label="Auto sync for '
                     r'Stoneware mug 1"\s+hx-get', html)
    assert 'hx-trigger="change[target.checked]"' in html
    assert toast(off) == {"message": "Auto sync off for Stoneware mug 1: nothing of it syncs "
                                     "until you turn it on again.", "error": False}
    assert [title for title, on in auto_sync_by_title(ours).items() if not on] == [
        "Stoneware mug 1"]
    assert set(auto_sync_by_title(other_destination).values()) == {True}
    # and a value that is neither on nor off changes nothing
    bad = client.post(url, {"enabled": "maybe"}, headers=as_destination(ours))
    assert toast(bad) == {"message": "Choose auto sync on or off.", "error": True}
    assert ProductLink.objects.get(connection=ours, source_product=mug).auto_sync is False


def test_the_row_switch_refuses_unsynced_and_other_sources_products(client, shops):
    ours, _, second_source, _ = shops
    unsynced = SourceProduct.objects.create(shop=ours.source, shopify_id=99_999,
                                            title="Wool cap")
    foreign = SourceProduct.objects.filter(shop=second_source.source).first()
    refused = client.post(f"/products/sources/{ours.pk}/products/{unsynced.pk}/auto-sync",
                          {"enabled": "off"}, headers=as_destination(ours))
    assert toast(refused) == {"message": "Wool cap is not synced, so it has no auto sync. Sync "
                                         "it first.", "error": True}
    assert "Not synced" in refused.content.decode()
    missing = client.post(f"/products/sources/{ours.pk}/products/{foreign.pk}/auto-sync",
                          {"enabled": "off"}, headers=as_destination(ours))
    assert missing.status_code == 404
    assert ProductLink.objects.filter(auto_sync=False).count() == 0


def test_turning_auto_sync_on_for_many_writes_their_stock_in_short_tasks(
        shops, django_capture_on_commit_callbacks):
    ours, *_ = shops
    # given 230 synced products with auto sync off
    for n in range(200):
        link(ours, SourceProduct.objects.create(shop=ours.source, shopify_id=50_000 + n,
                                                title=f"Canvas tote {n:03d}"))
    ProductLink.objects.filter(connection=ours).update(auto_sync=False)
    ids = list(ProductLink.objects.filter(connection=ours)
               .values_list("source_product_id", flat=True))
    # when auto sync is turned on for all of them
    with django_capture_on_commit_callbacks(execute=False) as queued:
        changed = product_links_auto_sync_set(connection=ours, source_product_ids=ids,
                                              enabled=True)
    # then their stock is written by three tasks of at most 100 products, not one of 230
    assert changed == 230
    assert len(queued) == 3
