from django.contrib import admin

from accounts.models import Membership, Org, OrgBranding
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
