"""The check before connecting: a destination pastes a source's key and sees how its variants
compare with that source's visible catalogue (the emulator's stores, read as Syncer reads them)
before anything is connected; then it confirms."""

import re

import pytest

from products.models import CatalogueScan, ProductLink
from products.precheck import PRECHECK_FRESH
from stores.connect_check import LIST_LIMIT, connect_check_run
from stores.connections import ConnectionRefused, connection_block, connection_create
from stores.models import Connection, Shop
from stores.services import store_key_rotate
from tests.products.catalogue_world import DEST_1, SOURCE, build, headers

pytestmark = pytest.mark.django_db(transaction=True)

# Title, variants (SKU, stock), tags: the same two catalogues as the mapping check's test, so
# both checks are seen to say the same.
SOURCE_CATALOGUE = [
    ("Alpha", [("ALPHA-S", 5), ("ALPHA-M", 6)], []),
    ("Beta", [("BETA-1", 7)], []),
    ("Gamma", [("GAMMA-1", 8), ("", 1)], []),
    ("Delta", [("DUP-1", 2)], []),
    ("Epsilon", [("DUP-1", 3)], []),
    ("Zeta", [("ZETA-1", 4)], ["syncer-hidden"]),  # hidden: destinations never see it
]
DESTINATION_CATALOGUE: list[tuple[str, list[tuple[str, int]], list[str]]] = [
    ("Alpha (ours)", [("ALPHA-S", 0), ("ALPHA-M", 0), ("ALPHA-L", 0)], []),
    ("Beta (ours)", [("beta-1 ", 0)], []),
    ("Gamma (ours)", [(" GAMMA-1 ", 0)], []),
    ("Delta (ours)", [("DUP-1", 0)], []),
    ("Own product", [("OWN-1", 0), ("OWN-1", 0), ("", 0)], []),
    ("Zeta (ours)", [("ZETA-1", 0)], []),
]


def catalogue(emulator, shop, products):
    for title, variants, tags in products:
        emulator.product_create(shop, title=title, vendor="Acme", tags=tags,
                                variants=[{"sku": sku, "price": "10.00", "available": stock,
                                           "option1": f"V{n}"}
                                          for n, (sku, stock) in enumerate(variants)])


def source_key() -> str:
    """The source's key in full, as its owner copies it (a new one: only its hash is kept)."""
    return store_key_rotate(shop=Shop.objects.get(domain=SOURCE)).store_key or ""


def destination() -> Shop:
    return Shop.objects.get(domain=DEST_1)


@pytest.fixture
def world(emulator):
    world = build(emulator, connect=False)
    catalogue(emulator, SOURCE, SOURCE_CATALOGUE)
    catalogue(emulator, DEST_1, DESTINATION_CATALOGUE)
    world.settle()
    return world


def test_the_check_counts_each_kind_exactly_and_connects_nothing(world):
    key = source_key()
    # when the destination pastes the key, before the source's catalogue was ever loaded
    first = connect_check_run(destination=destination(), store_key=key)
    # then the check says what it waits for, with no figures yet
    assert (first.source.domain, first.check.state, first.check.detail) == (
        SOURCE, "preparing", "Syncer is still loading cat-source's catalogue.")
    # and once both catalogues are read, it counts each kind
    world.settle()
    check = connect_check_run(destination=destination(), store_key=key).check
    assert (check.state, check.key) == ("ready", "sku")
    assert (check.source_variants, check.destination_variants) == (7, 10)
    assert (check.match_count, check.match_products) == (3, 2)
    assert check.duplicate_count == 2
    assert {(d.side, d.value, d.count, tuple(d.products)) for d in check.duplicates} == {
        ("source", "DUP-1", 2, ("Delta", "Epsilon")),
        ("destination", "OWN-1", 2, ("Own product",))}
    assert (check.blank_source, check.blank_destination) == (1, 1)
    assert (check.blank_source_products, check.blank_destination_products) == (
        ["Gamma"], ["Own product"])
    assert check.near_count == 1
    assert [(n.destination_value, n.source_value) for n in check.near] == [("beta-1", "BETA-1")]
    assert check.mismatch_count == 2
    assert [(m.source_product, m.destination_product, m.source_variants,
             m.destination_variants, m.matched) for m in check.mismatches] == [
        ("Alpha", "Alpha (ours)", 2, 3, 2), ("Gamma", "Gamma (ours)", 2, 1, 1)]
    assert (check.conflict_count, check.unmatched_source, check.unmatched_destination) == (
        0, 4, 7)
    # and nothing was connected or linked: the store's read belongs to no connection
    assert Connection.objects.count() == 0
    assert ProductLink.objects.count() == 0
    read = CatalogueScan.objects.get(shop__domain=DEST_1)
    assert (read.connection_id, read.status, read.report) == (None, "done", {})


def test_by_barcode_the_same_read_is_compared_again(world):
    key = source_key()
    connect_check_run(destination=destination(), store_key=key)
    world.settle()
    # when the merchant compares by barcode (none of these variants has one)
    check = connect_check_run(destination=destination(), store_key=key, key="barcode").check
    # then every variant is blank and nothing matches; the store was not read again
    assert (check.state, check.key, check.match_count) == ("ready", "barcode", 0)
    assert (check.blank_source, check.blank_destination, check.duplicate_count) == (7, 10, 0)
    assert CatalogueScan.objects.filter(shop__domain=DEST_1).count() == 1


def test_a_recent_read_is_used_until_the_merchant_reads_again(world):
    key = source_key()
    connect_check_run(destination=destination(), store_key=key)
    world.settle()
    first = CatalogueScan.objects.get(shop__domain=DEST_1)
    # when the store changes and the merchant checks again within PRECHECK_FRESH
    world.emulator.product_create(DEST_1, title="Beta twin", variants=[
        {"sku": "BETA-1", "price": "10.00", "available": 0, "option1": "V0"}])
    world.settle()
    assert connect_check_run(destination=destination(), store_key=key).check.match_count == 3
    assert list(CatalogueScan.objects.filter(shop__domain=DEST_1)) == [first]
    # when they ask to read their products again
    again = connect_check_run(destination=destination(), store_key=key, read_again=True).check
    assert again.state == "preparing"
    world.settle()
    check = connect_check_run(destination=destination(), store_key=key).check
    # then the new product is counted, and only the latest read is kept
    assert (check.destination_variants, check.match_count) == (11, 4)
    assert list(CatalogueScan.objects.filter(shop__domain=DEST_1).values_list(
        "status", flat=True)) == ["done"]
    assert CatalogueScan.objects.get(shop__domain=DEST_1).pk != first.pk
    # a read older than PRECHECK_FRESH is not used either
    CatalogueScan.objects.filter(shop__domain=DEST_1).update(
        finished_at=first.finished_at - PRECHECK_FRESH)
    assert connect_check_run(destination=destination(), store_key=key).check.state == "preparing"


def test_long_lists_show_the_first_ones_and_count_them_all(emulator):
    build(emulator, connect=False)
    # a store with 22 SKUs each on two of its variants
    emulator.product_create(DEST_1, title="Many", variants=[
        {"sku": f"D-{n // 2:02d}", "price": "1.00", "available": 0, "option1": f"V{n}"}
        for n in range(44)])
    emulator.flush_webhooks()
    key = source_key()
    connect_check_run(destination=destination(), store_key=key)
    emulator.flush_webhooks()
    check = connect_check_run(destination=destination(), store_key=key).check
    assert (check.state, check.source_variants, check.destination_variants) == ("ready", 0, 44)
    assert (check.duplicate_count, len(check.duplicates), check.duplicates_more) == (
        22, LIST_LIMIT, 2)
    assert check.duplicates[0].value == "D-00"


@pytest.mark.parametrize("refusal", ["unknown", "blocked"])
def test_a_key_that_would_not_connect_gets_no_check(emulator, refusal):
    build(emulator, connect=False)
    key = source_key()
    if refusal == "blocked":
        connection = connection_create(destination=destination(), store_key=key)
        connection_block(connection=connection, actor=connection.source)
    else:
        key = "syncer_nobody_has_this"
    scans = CatalogueScan.objects.filter(shop__domain=DEST_1).count()
    # when the destination pastes it
    with pytest.raises(ConnectionRefused) as refused:
        connect_check_run(destination=destination(), store_key=key)
    # then it is told why, and nothing was read, started or connected
    assert str(refused.value) == {
        "unknown": "No store has this key. Check it with the source store's owner "
                   "(keys change when they are rotated).",
        "blocked": "cat-source has blocked your store. Ask its owner to unblock it."}[refusal]
    assert CatalogueScan.objects.filter(shop__domain=DEST_1).count() == scans == 0
    assert list(Connection.objects.values_list("status", flat=True)) == (
        ["blocked"] if refusal == "blocked" else [])


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd id="check-([a-z]+)">(\d+)', html))


def test_the_page_shows_the_check_then_confirm_connects(client, world):
    key = source_key()
    # when the destination pastes the key on its Sources page
    response = client.post("/sources/connect/check", {"store_key": key},
                           headers={**headers(world.emulator, DEST_1), "HX-Target": "sources"})
    # then it sees the check being prepared (polling), with Confirm and Cancel
    html = response.content.decode()
    assert response.status_code == 200
    assert "Check before connecting to cat-source" in html
    assert 'id="check-preparing"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "check-figures" not in html
    assert 'name="store_key" value="' + key + '"' in html
    assert ">Confirm connection</button>" in html
    assert ">Cancel</button>" in html
    # and once both catalogues are read, the card's poll shows the figures and stops polling
    world.settle()
    poll = client.post("/sources/connect/check", {"store_key": key},
                       headers={**headers(world.emulator, DEST_1), "HX-Target": "connect-check"})
    html = poll.content.decode()
    assert poll.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="connect-check"')
    assert "every 1s" not in html
    assert figures(html) == {"matches": "3", "duplicates": "2", "blanks": "2", "near": "1",
                             "mismatches": "2"}
    assert "3 variants of yours will match cat-source's by SKU." in html
    assert Connection.objects.count() == 0
    # when they confirm, choosing to match by barcode
    confirmed = client.post("/sources/connect", {"store_key": key, "match_by": "barcode"},
                            headers=headers(world.emulator, DEST_1))
    # then they are connected, matching by barcode
    assert confirmed.status_code == 200
    connection = Connection.objects.get()
    assert (connection.destination.domain, connection.status, connection.match_by) == (
        DEST_1, "connected", "barcode")
    assert "Check before connecting" not in confirmed.content.decode()


def test_the_page_refuses_an_unknown_key_in_the_field(client, emulator):
    build(emulator, connect=False)
    response = client.post("/sources/connect/check", {"store_key": "syncer_nobody"},
                           headers={**headers(emulator, DEST_1), "HX-Target": "sources"})
    html = response.content.decode()
    assert response.status_code == 422
    assert '<p class="field-error" role="alert">No store has this key.' in html
    assert "Check before connecting" not in html
    assert (CatalogueScan.objects.filter(shop__domain=DEST_1).count(),
            Connection.objects.count()) == (0, 0)


def test_a_poll_after_the_source_blocked_the_store_shows_why_in_the_field(client, world):
    key = source_key()
    connection = connection_create(destination=destination(), store_key=key)
    connection_block(connection=connection, actor=connection.source)
    poll = client.post("/sources/connect/check", {"store_key": key},
                       headers={**headers(world.emulator, DEST_1), "HX-Target": "connect-check"})
    assert poll.status_code == 422
    assert (poll["HX-Retarget"], poll["HX-Reswap"]) == ("#sources", "outerHTML")
    assert "cat-source has blocked your store." in poll.content.decode()
