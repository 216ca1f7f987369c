"""Destination stock rows are updated three times per write: their pages keep room for the
update that records a completed write to stay on the page (migration 0013)."""

import pytest
from django.db import connection

from products.models import DestinationStock

pytestmark = pytest.mark.django_db


def test_destination_stock_pages_are_filled_to_seventy_percent():
    # given the migrated database
    # when PostgreSQL is asked for the stock table's storage options
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s",
                       [DestinationStock._meta.db_table])
        (options,) = cursor.fetchone()
    # then its pages are filled to 70 %
    assert options == ["fillfactor=70"]
