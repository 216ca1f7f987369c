"""Destination sales (issue 23): one row per paid destination line of a synced variant, for the
source's dashboard. Backfilled from the sale effects already recorded whose order the mirror
knows as paid (one counted while its payment was pending, still unpaid, is left out), at the
source variant's price now, on the day the effect was made."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
INSERT INTO products_destinationsale (source_id, destination_id, order_id, line_item_id,
                                      source_variant_id, quantity, price, sold_at)
SELECT e.source_id, e.destination_id, e.order_id, e.line_item_id, v.shopify_id, -e.delta,
       COALESCE(v.price, 0), e.created_at
FROM products_inventoryeffect e
JOIN orders_destinationorder o
  ON o.shop_id = e.destination_id AND o.shopify_id = e.order_id
 AND o.financial_status IN ('paid', 'partially_refunded', 'refunded')
JOIN LATERAL (SELECT shopify_id, price FROM products_sourcevariant
              WHERE shop_id = e.source_id AND inventory_item_id = e.inventory_item_id
              ORDER BY deleted_at IS NOT NULL, id DESC LIMIT 1) v ON true
WHERE e.kind = 'sale' AND e.delta < 0
ON CONFLICT (destination_id, line_item_id) DO NOTHING
"""


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0011_sync_event_lean_writes'),
        ('stores', '0007_billing_alerts'),
        ('orders', '0006_order_settings_partial_push'),  # the mirror, read by the backfill
    ]

    operations = [
        migrations.CreateModel(
            name='DestinationSale',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order_id', models.BigIntegerField()),
                ('line_item_id', models.BigIntegerField()),
                ('source_variant_id', models.BigIntegerField()),
                ('quantity', models.PositiveIntegerField()),
                ('price', models.DecimalField(decimal_places=2, max_digits=12)),
                ('sold_at', models.DateTimeField()),
                ('destination', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stores.shop')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stores.shop')),
            ],
            options={
                'indexes': [models.Index(fields=['source', 'sold_at'], include=('destination', 'source_variant_id', 'quantity', 'price'), name='destination_sale_source')],
                'constraints': [models.UniqueConstraint(fields=('destination', 'line_item_id'), name='destination_sale_once')],
            },
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
