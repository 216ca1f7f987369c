"""syncer.rows: a model instance from a plain statement's row reads as the ORM's would."""

import pytest
from django.db import connection

from stores.models import Shop
from syncer.rows import model_from_row, model_select
from tests.stores.factories import SourceFactory

pytestmark = pytest.mark.django_db


def test_a_row_read_in_any_column_order_gives_each_field_its_own_converted_value():
    # given a shop with an encrypted token and no uninstall
    shop = SourceFactory(access_token="shpat_secret", name="Alpha Goods")
    fields = ("uninstalled_at", "access_token", "id", "role")  # not the model's order
    # when it is read with a plain statement
    with connection.cursor() as cursor:
        cursor.execute(model_select(Shop, fields) + " WHERE domain = %s", [shop.domain])
        row = cursor.fetchone()
    read = model_from_row(Shop, fields, row)
    # then every field holds its own value, the token decrypted
    assert read.pk == shop.pk
    assert read.uninstalled_at is None
    assert read.access_token == "shpat_secret"
    assert read.role == Shop.Role.SOURCE
    assert read.get_deferred_fields() >= {"name", "domain"}
    # and a field not read is read when touched
    assert read.name == "Alpha Goods"
