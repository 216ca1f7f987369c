import django.db.models.deletion
from django.db import migrations, models

LINK_END_CHOICES = [("keep", "Keep them as they are"), ("zero", "Set their stock to zero"),
                    ("draft", "Set them to draft"), ("delete", "Delete them")]


class Migration(migrations.Migration):
    # Issue 17, item 5: what a destination's products become when their links end.
    dependencies = [
        ("stores", "0003_store_key_hash"),
    ]

    operations = [
        migrations.AddField(
            model_name="connection",
            name="on_link_end",
            field=models.CharField(choices=LINK_END_CHOICES, db_default="zero", default="zero",
                                   max_length=8),
        ),
        migrations.AlterField(
            model_name="connectionevent",
            name="action",
            field=models.CharField(choices=[
                ("connected", "Connected"), ("reconnected", "Reconnected"),
                ("blocked", "Blocked"), ("unblocked", "Unblocked"),
                ("disconnected", "Disconnected"), ("uninstalled", "Uninstalled Syncer")],
                max_length=16),
        ),
        migrations.CreateModel(
            name="EndedLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("reason", models.CharField(choices=[
                    ("product_deleted", "The source deleted the product"),
                    ("disconnected", "You disconnected from the source"),
                    ("blocked", "The source blocked your store"),
                    ("source_uninstalled", "The source uninstalled Syncer"),
                    ("dest_uninstalled", "Your store uninstalled Syncer")], max_length=24)),
                ("choice", models.CharField(choices=LINK_END_CHOICES, max_length=8)),
                ("destination_product_id", models.BigIntegerField()),
                ("source_product_id", models.BigIntegerField(blank=True, null=True)),
                ("title", models.CharField(blank=True, max_length=512)),
                ("variants", models.JSONField(default=list)),
                ("location_id", models.BigIntegerField(blank=True, null=True)),
                ("status", models.CharField(choices=[
                    ("pending", "Waiting"), ("done", "Applied"), ("kept", "Kept as it was"),
                    ("not_applied", "Not applied: Syncer was uninstalled"),
                    ("failed", "Failed")], default="pending", max_length=12)),
                ("idempotency_key", models.CharField(blank=True, max_length=64)),
                ("planned", models.JSONField(blank=True, default=list)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("connection", models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="ended_links",
                    to="stores.connection")),
            ],
            options={
                "indexes": [models.Index(fields=["connection", "status"],
                                         name="ended_link_status")],
            },
        ),
    ]
