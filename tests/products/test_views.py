"""The products pages through the real views: session tokens, shop-bound CSRF, HTMX."""

import re

import pytest

from products.field_sync import FIELDS, fields_syncing
from products.models import ProductJob, ProductLink, SourceProduct, SyncEvent
from stores.auth import shop_csrf_token
from stores.connections import connection_block, connection_disconnect
from stores.models import Shop
from tests.htmx_events import said
from tests.orders.dashboard_world import session_headers
from tests.products.catalogue_world import (
    DEST_1,
    DEST_2,
    SOURCE,
    build,
    connection,
    headers,
    shirt,
)
from tests.stores.factories import ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def toast(response) -> dict:
    return said(response)


def settings_form(**changes: str) -> dict[str, str]:
    """The Product settings form as a new connection shows it, with `changes`."""
    return {**{f"field_{field.name}": field.default for field in FIELDS},
            "price_markup_percent": "0", "price_markup_fixed": "0", "price_rounding": "none",
            "compare_at_rule": "copy", **changes}


def tab_counts(html: str) -> dict[str, int]:
    return {label.strip().lower(): int(count) for label, count in re.findall(
        r'role="tab"[^>]*>\s*([\w ]+?) <span class="badge">(\d+)</span>', html)}


@pytest.fixture
def world(emulator):
    world = build(emulator, destinations=(DEST_1, DEST_2))
    shirt(world)
    for n in range(30):
        emulator.product_create(SOURCE, title=f"Tote {n:02d}", vendor="Bags & Co",
                                tags=["syncer-hidden"] if n < 3 else [],
                                variants=[{"sku": f"TOTE-{n:02d}", "price": "12.00",
                                           "available": n}])
    world.settle()
    return world


def test_products_is_in_the_nav_for_both_roles(client, world):
    for shop in (SOURCE, DEST_1):
        html = client.get("/", headers={"Authorization": headers(world.emulator, shop)[
            "Authorization"]}).content.decode()
        assert '<a href="/products/"' in html


def test_source_sees_its_catalogue_with_tabs_search_and_the_hidden_tag(client, world):
    page = client.get("/products/", headers=headers(world.emulator, SOURCE))
    html = page.content.decode()
    assert page.status_code == 200
    assert tab_counts(html) == {"available": 28, "hidden": 3, "synced": 0}
    assert "Linen shirt" in html
    assert "Page 1 of 2" in html
    hidden = client.get("/products/?tab=hidden", headers=headers(world.emulator, SOURCE))
    assert re.findall(r"<strong>(Tote \d+)</strong>", hidden.content.decode()) == [
        "Tote 00", "Tote 01", "Tote 02"]
    found = client.get("/products/?q=TOTE-17", headers=headers(world.emulator, SOURCE))
    assert re.findall(r"<strong>(Tote \d+)</strong>", found.content.decode()) == ["Tote 17"]
    # changing the hidden tag
    response = client.post("/products/hidden-tag", {"hidden_tag": "wholesale-only"},
                           headers=headers(world.emulator, SOURCE))
    assert response.status_code == 200
    assert toast(response)["message"] == "Hidden tag saved. 3 products changed visibility."
    assert Shop.objects.get(domain=SOURCE).hidden_tag == "wholesale-only"
    bad = client.post("/products/hidden-tag", {"hidden_tag": "a,b"},
                      headers=headers(world.emulator, SOURCE))
    assert bad.status_code == 422
    assert "A tag cannot contain a comma." in bad.content.decode()


def test_destination_browses_filters_imports_and_follows_progress(client, world):
    conn = connection(DEST_1)
    as_dest = headers(world.emulator, DEST_1)
    page = client.get("/products/", headers=as_dest)
    html = page.content.decode()
    assert page.status_code == 200
    assert tab_counts(html) == {"all": 28, "synced": 0, "not synced": 28,
                                "hidden by source": 0}
    assert "Tote 00" not in html  # hidden at the source
    found = client.get(f"/products/sources/{conn.pk}/?q=linen", headers=as_dest)
    assert re.findall(r"<strong>([^<]+)</strong>", found.content.decode()) == ["Linen shirt"]
    # when three products are selected and synced
    ids = list(SourceProduct.objects.filter(title__in=["Linen shirt", "Tote 10", "Tote 11"])
               .values_list("pk", flat=True))
    response = client.post(f"/products/sources/{conn.pk}/import", {"product": ids},
                           headers=as_dest)
    assert response.status_code == 200
    assert toast(response)["message"].startswith("Syncing 3 products.")
    world.settle()
    job = ProductJob.objects.get()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    progress = client.get(f"/products/sources/{conn.pk}/jobs/{job.pk}", headers=as_dest)
    assert progress.status_code == 286  # htmx: stop polling
    assert "Done: 3 of 3 products synced." in progress.content.decode()
    synced = client.get(f"/products/sources/{conn.pk}/?tab=synced", headers=as_dest)
    assert tab_counts(synced.content.decode())["synced"] == 3
    # nothing selected is a clear error
    empty = client.post(f"/products/sources/{conn.pk}/import", {}, headers=as_dest)
    assert empty.status_code == 422
    assert toast(empty) == {"message": "Select at least one product first.", "error": True}


def test_destination_switches_auto_sync_unsyncs_and_saves_product_settings(client, world):
    conn = connection(DEST_1)
    as_dest = headers(world.emulator, DEST_1)
    shirt_id = SourceProduct.objects.get(title="Linen shirt").pk
    client.post(f"/products/sources/{conn.pk}/import", {"product": [shirt_id]}, headers=as_dest)
    world.settle()
    off = client.post(f"/products/sources/{conn.pk}/auto-sync",
                      {"product": [shirt_id], "enabled": "off"}, headers=as_dest)
    assert toast(off)["message"].startswith("Auto sync off for 1 product")
    assert ProductLink.objects.get().auto_sync is False
    on = client.post(f"/products/sources/{conn.pk}/auto-sync",
                     {"product": [shirt_id], "enabled": "on"}, headers=as_dest)
    assert toast(on)["message"] == ("Auto sync on for 1 product: your quantities now follow the "
                                    "source's.")
    settings = client.post(f"/products/sources/{conn.pk}/settings", settings_form(
        field_price="sync", field_status="sync"), headers=as_dest)
    assert toast(settings)["message"] == ("Product settings saved. They apply from the source's "
                                          "next change.")
    conn.refresh_from_db()
    assert (fields_syncing(connection=conn), conn.sync_variants) == (
        frozenset({"price", "status"}), False)
    history = client.get(f"/products/sources/{conn.pk}/products/{shirt_id}/history",
                         headers=as_dest)
    html = history.content.decode()
    assert history.status_code == 200
    assert "Imported" in html
    assert "Auto sync turned on/off" in html
    # the quantities the import wrote name their variant and why, like any other stock write
    written = SyncEvent.objects.filter(kind="inventory", cause__startswith="import job")
    assert written.exists()
    assert set(written.values_list("reason", flat=True)) == {"linked"}
    assert not written.filter(source_variant__isnull=True).exists()
    assert "Stock set after syncing or mapping the product" in html
    unsync = client.post(f"/products/sources/{conn.pk}/unsync", {"product": [shirt_id]},
                         headers=as_dest)
    assert toast(unsync)["message"] == "Unsynced 1 product. It stays in your store as it is."
    assert ProductLink.objects.count() == 0
    # the history is still there after unsyncing
    again = client.get(f"/products/sources/{conn.pk}/products/{shirt_id}/history",
                       headers=as_dest)
    assert "Unsynced" in again.content.decode()
    world.settle()


def test_blocked_or_disconnected_destinations_are_refused_the_catalogue(client, world):
    as_dest_1, as_dest_2 = headers(world.emulator, DEST_1), headers(world.emulator, DEST_2)
    blocked, disconnected = connection(DEST_1), connection(DEST_2)
    shirt_id = SourceProduct.objects.get(title="Linen shirt").pk
    connection_block(connection=blocked, actor=blocked.source)
    connection_disconnect(connection=disconnected, actor=disconnected.destination)
    for conn, as_dest, word in ((blocked, as_dest_1, "blocked your store"),
                                (disconnected, as_dest_2, "disconnected from this source")):
        page = client.get(f"/products/sources/{conn.pk}/",
                          headers={"Authorization": as_dest["Authorization"]})
        assert page.status_code == 403
        assert word in page.content.decode()
        assert "Linen shirt" not in page.content.decode()
        partial = client.get(f"/products/sources/{conn.pk}/?tab=all", headers=as_dest)
        assert partial.status_code == 403
        assert "Linen shirt" not in partial.content.decode()
        refused = client.post(f"/products/sources/{conn.pk}/import", {"product": [shirt_id]},
                              headers=as_dest)
        assert refused.status_code == 403
        assert toast(refused)["error"] is True
        assert client.get(f"/products/sources/{conn.pk}/map/", headers=as_dest).status_code == 403
    # the Products page falls back to an explanation
    assert "No connected source" in client.get("/products/", headers=as_dest_1).content.decode()
    assert ProductJob.objects.count() == 0


def test_one_destination_never_sees_another_ones_source(client, world):
    other = connection(DEST_2)
    response = client.get(f"/products/sources/{other.pk}/", headers=headers(world.emulator,
                                                                            DEST_1))
    assert response.status_code == 404
    source_page = client.get(f"/products/sources/{other.pk}/", headers=headers(world.emulator,
                                                                               SOURCE))
    assert source_page.status_code == 403


def test_map_by_sku_through_the_pages(client, world):
    world.emulator.product_create(DEST_1, title="Our shirt", variants=[
        {"sku": "SHIRT-S", "price": "30.00", "option1": "S"},
        {"sku": "SHIRT-M", "price": "30.00", "option1": "M"}])
    world.settle()
    conn = connection(DEST_1)
    as_dest = headers(world.emulator, DEST_1)
    page = client.get(f"/products/sources/{conn.pk}/map/",
                      headers={"Authorization": as_dest["Authorization"]})
    assert "Check SKUs" in page.content.decode()
    checked = client.post(f"/products/sources/{conn.pk}/map/check", headers=as_dest)
    assert checked.status_code == 200
    world.settle()
    report = client.get(f"/products/sources/{conn.pk}/map/", headers=as_dest)
    html = report.content.decode()
    assert report.status_code == 286  # the check is over: the panel stops polling
    assert '<dd id="match-count">2</dd>' in html
    scan_id = re.search(r'name="scan" value="(\d+)"', html).group(1)
    linked = client.post(f"/products/sources/{conn.pk}/map/link", {"scan": scan_id},
                         headers=as_dest)
    assert linked.status_code == 200
    assert toast(linked)["message"] == ("Linking 1 product by SKU and setting its stock.")
    world.settle()
    assert list(ProductLink.objects.values_list("origin", flat=True)) == ["mapped"]
    assert SyncEvent.objects.filter(kind="inventory", result="ok").count() == 2


def test_the_variants_switch_takes_on_or_off_and_nothing_else(client, db):
    # given a destination connected to a source, its product settings never changed
    conn = ConnectionFactory()
    headers = {**session_headers(conn.destination, htmx=True),
               "X-CSRFToken": shop_csrf_token(shop_domain=conn.destination.domain, user_id="1")}
    # when the variants switch is sent as neither on nor off, with a price to sync
    response = client.post(f"/products/sources/{conn.pk}/settings", settings_form(
        sync_variants="maybe", field_price="sync"), headers=headers)
    # then the form says so under the switch and nothing changed
    assert response.status_code == 422
    assert ('<p class="field-error" id="id_sync_variants_error" role="alert">Choose on or off.'
            '</p>') in response.content.decode()
    conn.refresh_from_db()
    assert (conn.sync_variants, conn.field_sync) == (False, {})
