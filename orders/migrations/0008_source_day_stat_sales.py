"""Units sold and sales at the source's prices on the source's day roll-ups, per store and for
all of them, and per store whole-week and whole-month rows (`span`) too (issue 23, "per store
and in total"): the source dashboard's "Sales by store" sums a store's months, weeks and days
instead of every variant's rows, or 365 days a year.

The day rows built before have no sales (they would read as none), so every roll-up is thrown
away, as 0007 did, and the next dashboard view builds them afresh (orders.stats) — for a
source with a year of orders, one slower first view.
"""

from django.db import migrations, models

FORGET = ("TRUNCATE orders_sourcedaystat, orders_sourceproductdaystat, "
          "orders_sourcestatsclosed")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0007_dashboard_sales_and_all_time'),
    ]

    operations = [
        migrations.RunSQL(FORGET, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(
            model_name='sourcedaystat',
            name='source_day_stat_read',
        ),
        migrations.AddField(
            model_name='sourcedaystat',
            name='sales',
            field=models.DecimalField(db_default=0, decimal_places=2, max_digits=16),
        ),
        migrations.AddField(
            model_name='sourcedaystat',
            name='units',
            field=models.PositiveIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='sourcedaystat',
            name='span',
            field=models.CharField(choices=[('day', 'Day'), ('week', 'Week'), ('month', 'Month')], db_default='day', max_length=5),
        ),
        migrations.AddIndex(
            model_name='sourcedaystat',
            index=models.Index(fields=['source', 'zone', 'destination', 'span', 'day'], include=('orders', 'revenue', 'units', 'sales'), name='source_day_stat_read'),
        ),
        migrations.AddIndex(
            model_name='sourcedaystat',
            index=models.Index(condition=models.Q(('destination__isnull', False)), fields=['source', 'zone', 'span', 'day'], include=('destination', 'orders', 'revenue', 'units', 'sales'), name='source_day_stat_stores'),
        ),
    ]
