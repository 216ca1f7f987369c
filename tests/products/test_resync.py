"""Resync now: a run that cannot run ends failed with its reason (never "Checking 0 of N"
forever), and the progress partial shows it with Try again."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from products.inventory.reconciliation import RESYNC_LOST, RESYNC_NOT_QUEUED, RESYNC_UNEXPECTED
from products.inventory.tasks import inventory_sweep_task, reconciliation_request
from products.models import ReconciliationRun
from stores.auth import shop_csrf_token
from stores.models import Connection
from tests.orders.dashboard_world import session_headers
from tests.products.inventory_world import build
from tests.stores.factories import ConnectionFactory
from tests.webhooks.conftest import broker_down

__all__ = ["broker_down"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db(transaction=True)


def as_shop(shop) -> dict[str, str]:
    return {**session_headers(shop, htmx=True),
            "X-CSRFToken": shop_csrf_token(shop_domain=shop.domain, user_id="1")}


def progress(client, run: ReconciliationRun):
    return client.get(f"/inventory/sources/{run.connection_id}/resync/{run.pk}",
                      headers=as_shop(run.connection.destination))


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_resync_whose_task_raises_ends_failed_with_its_reason(client, emulator, settings):
    world = build(emulator, destinations=1)
    connection = Connection.objects.select_related("destination").get()
    keys = settings.TOKEN_ENCRYPTION_KEYS
    # given the stored access tokens can no longer be read (the encryption key was replaced
    # without keeping the old one): the task raises as it loads the shops
    settings.TOKEN_ENCRYPTION_KEYS = ["a-key-that-never-encrypted-them"]
    # when the merchant asks for a resync
    run = reconciliation_request(connection=connection, trigger="merchant")
    # then the run ended failed with a reason in plain words
    settings.TOKEN_ENCRYPTION_KEYS = keys
    assert (run.status, run.error, run.checked, run.total) == ("failed", RESYNC_UNEXPECTED, 0, 0)
    assert run.finished_at is not None
    # and the progress partial says so, stops polling and offers Try again
    response = progress(client, run)
    assert response.status_code == 286
    html = response.content.decode()
    assert text(html).startswith(
        "The last resync failed just now: Syncer ran into an unexpected problem and "
        "stopped the resync (it has been logged). Try again; if it happens again, contact "
        "support. It runs again on schedule, or try again now. Try again")
    # (Try again first shows what a resync changes: products/_override_preview.html)
    assert f'hx-get="/inventory/sources/{connection.pk}/resync"' in html
    assert "hx-trigger" not in html
    # and trying again (the keys fixed) checks every variant
    retried = client.post(f"/inventory/sources/{connection.pk}/resync",
                          headers=as_shop(connection.destination))
    assert retried.status_code == 200
    assert ReconciliationRun.objects.order_by("pk").last().status == "done"
    assert world.levels(world.destinations[0]) == {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}


def test_a_resync_left_running_is_ended_by_the_sweeper(client):
    # given a resync whose task the broker lost: it never started
    connection = ConnectionFactory()
    run = ReconciliationRun.objects.create(connection=connection, trigger="merchant")
    # when the sweeper runs soon after, it leaves it alone
    inventory_sweep_task()
    run.refresh_from_db()
    assert (run.status, run.error, run.finished_at) == ("running", "", None)
    assert text(progress(client, run).content.decode()) == "Starting…"
    # and when it runs sixteen minutes later
    ReconciliationRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - timedelta(minutes=16))
    inventory_sweep_task()
    # then the run is failed with its reason, and the partial says so
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", RESYNC_LOST)
    response = progress(client, run)
    assert response.status_code == 286
    assert text(response.content.decode()) == (
        "The last resync failed just now: The resync stopped before it finished: the "
        "worker running it was lost, or it never started. Try again. It runs again on "
        "schedule, or try again now. Try again")


def test_a_resync_that_cannot_be_queued_ends_failed_at_once(client, broker_down):
    connection = ConnectionFactory()
    # when the merchant asks for a resync while the broker is unreachable
    response = client.post(f"/inventory/sources/{connection.pk}/resync",
                           headers=as_shop(connection.destination))
    # then the answer already says it failed and why
    assert response.status_code == 200
    assert "The resync could not be started: Syncer&#x27;s task queue did not answer." in (
        response.content.decode())
    run = ReconciliationRun.objects.get()
    assert (run.status, run.error) == ("failed", RESYNC_NOT_QUEUED)
