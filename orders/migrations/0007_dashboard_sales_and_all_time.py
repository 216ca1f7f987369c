"""The source dashboard's "All time" and its products sold from every paid sale (issue 23).

The product roll-ups now sum destination sales (products.DestinationSale) instead of pushed
lines, and gain month rows; "All time" starts at the state's `first_day`. Every roll-up is
thrown away so the next dashboard view builds them afresh (orders.stats), the way an erasure
does: their days were closed with the old meaning.
"""

from django.db import migrations, models

FORGET = ("TRUNCATE orders_sourcedaystat, orders_sourceproductdaystat, "
          "orders_sourcestatsclosed")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0006_order_settings_partial_push'),
        ('products', '0012_destination_sale'),
    ]

    operations = [
        migrations.RunSQL(FORGET, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='sourceproductdaystat',
            name='span',
            field=models.CharField(choices=[('day', 'Day'), ('week', 'Week'), ('month', 'Month')], default='day', max_length=5),
        ),
        migrations.AddField(
            model_name='sourcestatsclosed',
            name='first_day',
            field=models.DateField(blank=True, null=True),
        ),
    ]
