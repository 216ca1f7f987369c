"""Store keys are kept as a SHA-256 hash plus a short prefix, no longer in plain text (issue
17, item 12). Existing keys keep working: each is hashed here, then the plain column goes.

Going back cannot bring the keys back: sources then have no key until they generate a new one
(connections are untouched either way)."""

import hashlib

from django.db import migrations, models

PREFIX_LENGTH = 11  # stores.models.STORE_KEY_PREFIX_LENGTH when this was written


def store_keys_hash(apps, schema_editor) -> None:
    Shop = apps.get_model("stores", "Shop")
    shops = Shop.objects.filter(store_key__isnull=False).exclude(store_key="").only("store_key")
    for shop in shops.iterator(chunk_size=500):
        shop.store_key_hash = hashlib.sha256(shop.store_key.encode()).hexdigest()
        shop.store_key_prefix = shop.store_key[:PREFIX_LENGTH]
        shop.save(update_fields=["store_key_hash", "store_key_prefix"])


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0002_shop_iana_timezone"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="store_key_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="shop",
            name="store_key_prefix",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(store_keys_hash, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(
            model_name="shop",
            name="store_key",
        ),
    ]
