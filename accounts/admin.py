from django.contrib import admin, messages

from accounts.models import Membership, Org, OrgBranding, Role, StorefrontApiKey
from accounts.selectors import orgs_of_user


class OrgScopedAdmin(admin.ModelAdmin):
    """Staff see and pick only the orgs they belong to; superusers see all.

    Every org-owned model's admin derives from this; `org_lookup` says how the row reaches its org.
    """

    org_lookup = "org"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.org_lookup}__in": orgs_of_user(user=request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Org and not request.user.is_superuser:
            kwargs["queryset"] = orgs_of_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(memberships__user=request.user)


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role", "org"]
    search_fields = ["user__username", "user__email", "org__slug"]
    autocomplete_fields = ["user"]


@admin.register(OrgBranding)
class OrgBrandingAdmin(OrgScopedAdmin):
    """What the public order pages (customer_pages) show for the org."""

    list_display = ["org", "display_name", "logo_url", "support_email"]
    search_fields = ["org__slug", "display_name"]


@admin.register(StorefrontApiKey)
class StorefrontApiKeyAdmin(OrgScopedAdmin):
    """Keys are named by their prefix only; the full key is shown once, in the message after creating it."""

    list_display = ["name", "org", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["org"]
    search_fields = ["name", "prefix", "org__slug"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["org", "name"]
        return ["org", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["org", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def _owned_orgs(self, request):
        orgs = Org.objects.all()
        if request.user.is_superuser:
            return orgs
        return orgs.filter(memberships__user=request.user, memberships__role=Role.OWNER)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """A key opens an org's customers and checkout: only its owners create one (as through the API)."""
        if db_field.name == "org":
            kwargs["queryset"] = self._owned_orgs(request)
        return super(OrgScopedAdmin, self).formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        from accounts.storefront_keys import storefront_key_create

        row, key = storefront_key_create(org=obj.org, name=obj.name, created_by=request.user)
        obj.pk, obj.prefix, obj.secret_hash = row.pk, row.prefix, row.secret_hash
        self.message_user(request, f"Storefront key created. Copy it now, it is not shown again: {key}",
                          messages.WARNING)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        from accounts.storefront_keys import storefront_key_revoke

        queryset = queryset.filter(org__in=self._owned_orgs(request))
        for row in queryset:
            storefront_key_revoke(org=row.org, prefix=row.prefix)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
