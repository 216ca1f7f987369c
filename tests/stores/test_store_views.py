"""The stores and sources sections end to end: emulator installs, real views, real tokens."""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection as db

from stores.auth import shop_csrf_token
from stores.models import Connection, Shop

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "demo-source.myshopify.com"
DEST_1 = "demo-dest-1.myshopify.com"
DEST_2 = "demo-dest-2.myshopify.com"


def shown_key(html: str) -> str:
    """The full store key a page shows (only the page that made it does)."""
    found = re.search(r'id="store-key-value" class="store-key-value" value="([^"]+)"', html)
    return found.group(1) if found else ""


@dataclass
class World:
    """`world(domain)`: the headers of that shop's HTMX requests. `source_key`: the key the
    source was shown when it chose its role."""

    emulator: Any
    source_key: str = ""

    def __call__(self, domain: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.emulator.session_token(domain)}",
                "HX-Request": "true",
                "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


@pytest.fixture
def world(client, emulator):
    world = World(emulator=emulator)
    for domain, name, role in ((SOURCE, "Demo Source", "source"),
                               (DEST_1, "Demo Dest One", "destination"),
                               (DEST_2, "Demo Dest Two", "destination")):
        emulator.shop_create(domain, name=name)
        emulator.install(domain)
        response = client.post("/settings/role", {"role": role}, headers=world(domain))
        assert response.status_code == 200
        if role == "source":
            world.source_key = shown_key(response.content.decode())
    return world


def tab_counts(html: str) -> dict[str, int]:
    return {label.lower(): int(count) for label, count in re.findall(
        r'role="tab"[^>]*>\s*(\w+) <span class="badge">(\d+)</span>', html)}


def test_destination_connects_with_the_key_and_appears_on_the_source(client, world):
    key = world.source_key
    home = client.get("/", headers=world(SOURCE)).content.decode()
    assert f'value="{key[:11]}…" readonly' in home
    # when the destination pastes the key
    response = client.post("/sources/connect", {"store_key": key}, headers=world(DEST_1))
    # then
    assert response.status_code == 200
    assert "Demo Source" in response.content.decode()
    assert response["HX-Trigger"] == (
        '{"toast": {"message": "Connected to Demo Source."}}')
    stores = client.get("/stores/", headers=world(SOURCE)).content.decode()
    assert "Demo Dest One" in stores
    assert tab_counts(stores) == {"connected": 1, "blocked": 0, "disconnected": 0}


def test_connect_errors_are_field_errors(client, world):
    response = client.post("/sources/connect", {"store_key": "syncer_wrong"},
                           headers=world(DEST_1))
    assert response.status_code == 422
    assert "No store has this key." in response.content.decode()
    assert Connection.objects.count() == 0


def test_block_unblock_and_tabs(client, world):
    key = world.source_key
    for destination in (DEST_1, DEST_2):
        client.post("/sources/connect", {"store_key": key}, headers=world(destination))
    connection = Connection.objects.get(destination__domain=DEST_2)
    # when the source blocks dest 2
    response = client.post(f"/stores/{connection.pk}/block", headers=world(SOURCE))
    assert response.status_code == 200
    assert "Unblock store" in response.content.decode()
    # and the products card on the same page follows at once (out of band)
    card = re.search(r'<section class="card" id="store-products-card"[^>]*>(.*?)</section>',
                     response.content.decode(), re.S)
    assert card is not None
    assert 'hx-swap-oob="true"' in card.group(0)
    assert "This store syncs none of your products now: you blocked it." in card.group(1)
    blocked_tab = client.get("/stores/?tab=blocked", headers=world(SOURCE)).content.decode()
    assert tab_counts(blocked_tab) == {"connected": 1, "blocked": 1, "disconnected": 0}
    assert "Demo Dest Two" in blocked_tab
    assert "Demo Dest One" not in blocked_tab
    # the destination sees it and cannot reconnect
    sources = client.get("/sources/", headers=world(DEST_2)).content.decode()
    assert "This source blocked your store" in sources
    refused = client.post("/sources/connect", {"store_key": key}, headers=world(DEST_2))
    assert "has blocked your store" in refused.content.decode()
    # blocking twice is refused
    again = client.post(f"/stores/{connection.pk}/block", headers=world(SOURCE))
    assert again.status_code == 409
    # when unblocked, the store must resync
    client.post(f"/stores/{connection.pk}/unblock", headers=world(SOURCE))
    sources = client.get("/sources/", headers=world(DEST_2)).content.decode()
    assert "Sync its products again to resume stock updates." in sources


def test_disconnect_and_reconnect(client, world):
    key = world.source_key
    client.post("/sources/connect", {"store_key": key}, headers=world(DEST_1))
    connection = Connection.objects.get()
    response = client.post(f"/sources/{connection.pk}/disconnect", headers=world(DEST_1))
    assert response.status_code == 200
    disconnected_tab = client.get("/stores/?tab=disconnected",
                                  headers=world(SOURCE)).content.decode()
    assert tab_counts(disconnected_tab) == {"connected": 0, "blocked": 0, "disconnected": 1}
    assert "Demo Dest One" in disconnected_tab
    # the source cannot disconnect; only block
    detail = client.get(f"/stores/{connection.pk}/", headers=world(SOURCE)).content.decode()
    assert "disconnected" in detail
    client.post("/sources/connect", {"store_key": key}, headers=world(DEST_1))
    assert Connection.objects.get().status == "connected"


def test_store_list_search_and_pagination(client, world, emulator):
    from tests.stores.factories import ConnectionFactory, DestinationFactory

    source = Shop.objects.get(domain=SOURCE)
    for n in range(25):
        ConnectionFactory(source=source, destination=DestinationFactory(name=f"Reseller {n:02d}"))
    first = client.get("/stores/", headers=world(SOURCE)).content.decode()
    assert "Page 1 of 2" in first
    found = client.get("/stores/?q=Reseller 07", headers=world(SOURCE)).content.decode()
    assert "Reseller 07" in found
    assert "Reseller 08" not in found


def test_sections_are_for_their_role(client, world):
    assert client.get("/stores/", headers=world(DEST_1)).status_code == 403
    assert client.get("/sources/", headers=world(SOURCE)).status_code == 403


def test_the_store_key_is_shown_once_and_kept_only_as_a_hash(client, world):
    # given the key the source was shown when it chose its role
    key = world.source_key
    assert re.fullmatch(r"syncer_[\w-]{22}", key)
    # then the database holds its hash and prefix, and the key itself nowhere
    shop = Shop.objects.get(domain=SOURCE)
    assert (shop.store_key_hash, shop.store_key_prefix) == (
        hashlib.sha256(key.encode()).hexdigest(), key[:11])
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM stores_shop WHERE domain = %s", [SOURCE])
        row = cursor.fetchone()
    assert [value for value in row if isinstance(value, str) and key in value] == []
    # and every later page shows only the prefix, with a way to get a new key
    whole_page = {name: value for name, value in world(SOURCE).items() if name != "HX-Request"}
    for url in ("/", "/stores/", "/dashboard/"):
        html = client.get(url, headers=whole_page).content.decode()
        assert key not in html
        assert f'<input id="store-key-prefix" class="store-key-value" value="{key[:11]}…"' in html
        assert "Generate a new key</button>" in html


def test_a_new_key_is_shown_once_and_the_old_one_stops_connecting(client, world):
    old_key = world.source_key
    # when the source generates a new key
    response = client.post("/stores/key/rotate", headers=world(SOURCE))
    # then it is shown in full, this once
    new_key = shown_key(response.content.decode())
    assert response.status_code == 200
    assert re.fullmatch(r"syncer_[\w-]{22}", new_key)
    assert new_key != old_key
    assert response["HX-Trigger"] == ('{"toast": {"message": "New key created. Copy it now: it '
                                      'is shown only this once."}}')
    assert new_key not in client.get("/", headers=world(SOURCE)).content.decode()
    # and the old key connects no one, the new one does
    refused = client.post("/sources/connect", {"store_key": old_key}, headers=world(DEST_1))
    assert refused.status_code == 422
    assert "No store has this key." in refused.content.decode()
    assert Connection.objects.count() == 0
    connected = client.post("/sources/connect", {"store_key": new_key}, headers=world(DEST_1))
    assert connected.status_code == 200
    assert Connection.objects.get().source.domain == SOURCE
