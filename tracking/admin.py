"""Admin: shipments (orders.Shipment) with their scans (staff add scans here: the `manual` provider)
and carrier webhook deliveries. Registered here, not in orders, because the page edits scans."""

from django.contrib import admin, messages

from accounts.admin import OrgScopedAdmin, OrgScopedInline
from orders.models import Shipment, ShipmentLine
from tracking.models import CarrierWebhookDelivery, ScanEvent
from tracking.services import shipment_refresh


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    fields = ["sku", "quantity", "order_line"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ScanEventInline(OrgScopedInline, admin.TabularInline):
    """Add a row to add a scan; the shipment's status (and the order's delivery) follow on save."""

    model = ScanEvent
    extra = 1
    fields = ["occurred_at", "status", "raw_status", "description", "location", "source"]
    readonly_fields = ["source"]
    ordering = ["-occurred_at", "-id"]


@admin.register(Shipment)
class ShipmentAdmin(OrgScopedAdmin):
    list_display = ["tracking_number", "carrier", "order", "status", "raw_status", "ship_date", "delivered_at",
                    "provider", "org"]
    list_filter = ["status", "carrier", "provider", "org"]
    search_fields = ["tracking_number", "order__order_number", "order__customer__email"]
    date_hierarchy = "ship_date"
    list_select_related = ["order", "org"]
    readonly_fields = ["org", "order", "status", "raw_status", "delivered_at", "status_updated_at", "provider_ref",
                       "public_tracking_url", "created_at"]
    fields = ["org", "order", "carrier", "tracking_number", "service", "cost", "currency", "ship_date", "provider",
              "provider_ref", "public_tracking_url", "status", "raw_status", "status_updated_at", "delivered_at",
              "created_at"]
    inlines = [ShipmentLineInline, ScanEventInline]

    def has_add_permission(self, request):
        return False  # parcels are created by the storefront `ship` verb

    def save_formset(self, request, form, formset, change):
        if formset.model is ScanEvent:
            for scan in formset.save(commit=False):
                scan.org_id = form.instance.org_id
                scan.source = scan.source or "manual"
                key = ScanEvent.make_dedupe_key(occurred_at=scan.occurred_at, raw_status=scan.raw_status or scan.status,
                                                description=scan.description, location=scan.location)
                if ScanEvent.objects.filter(shipment_id=scan.shipment_id, dedupe_key=key).exclude(pk=scan.pk).exists():
                    messages.warning(request, f"Skipped a scan already recorded: {scan}.")
                    continue
                scan.save()
            for scan in formset.deleted_objects:
                scan.delete()
            return
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        outcome = shipment_refresh(shipment_id=form.instance.pk)
        if outcome.order_delivered:
            messages.success(request, f"Every parcel is delivered: order {form.instance.order} is now delivered.")


@admin.register(CarrierWebhookDelivery)
class CarrierWebhookDeliveryAdmin(admin.ModelAdmin):
    """Deliveries are not org-owned (one aggregator account); superusers only."""

    list_display = ["received_at", "provider", "description", "tracking_number", "outcome", "shipments_updated",
                    "scans_added", "event_id"]
    list_filter = ["provider", "outcome", "description"]
    search_fields = ["event_id", "tracking_number"]
    readonly_fields = [f.name for f in CarrierWebhookDelivery._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
