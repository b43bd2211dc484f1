"""The one order list staff work from: storefront and channel orders as rows of one database view.

`OrderListRow` is unmanaged: its table is the view `backoffice_orderlistrow` (migration 0001), a UNION ALL
of storefront orders and channel orders. A channel order that made a storefront order (create_local_orders)
is one row, the storefront order's, carrying the channel's number and name: staff act on the storefront
order and its ship writes back to the channel. Nothing writes here; actions go through the orders and
channels_sync services.
"""

from __future__ import annotations

from django.db import models

from accounts.models import Org
from channels_sync.models import Channel


class ListedManager(models.Manager):
    def get_queryset(self):
        """Without the channel orders listed as their storefront order (see the module docstring)."""
        return super().get_queryset().filter(linked_order_id__isnull=True)


class OrderListRow(models.Model):
    class Kind(models.TextChoices):
        STOREFRONT = "storefront", "Storefront"
        CHANNEL = "channel", "Channel"

    key = models.CharField(max_length=40, primary_key=True)  # "s-<order id>" or "c-<aggregated order id>"
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_id = models.BigIntegerField()
    org = models.ForeignKey(Org, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    number = models.CharField("number", max_length=32)
    channel_number = models.CharField("channel number", max_length=128)
    channel = models.ForeignKey(Channel, on_delete=models.DO_NOTHING, null=True, related_name="+",
                                db_constraint=False)
    aggregated_id = models.BigIntegerField(null=True)
    placed_at = models.DateTimeField("placed")
    customer_name = models.CharField(max_length=255)
    customer_email = models.CharField(max_length=254)
    grand_total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    payment_state = models.CharField("payment", max_length=24)
    fulfilment_state = models.CharField("fulfilment", max_length=16)
    is_test = models.BooleanField()
    linked_order_id = models.BigIntegerField(null=True)  # a channel order's storefront order

    objects = ListedManager()

    class Meta:
        managed = False
        db_table = "backoffice_orderlistrow"
        ordering = ["-placed_at", "-source_id"]
        verbose_name = "order"
        verbose_name_plural = "Orders"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.number
