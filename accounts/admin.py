"""Admin by org role: what a staff member may do follows their role in each row's org (accounts.roles).

Model-level rights come from the role groups (the union over a user's orgs; that is what the admin index
and the add buttons read); every object-level check, action and form asks the role in *that object's* org,
so an owner of one org who is a viewer of another changes nothing of the second. No widget, filter or
choice list ever offers another org's rows. Superusers see and may do everything.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django_fsm.admin import FSMAdminMixin

from accounts.models import Membership, Org, OrgBranding, StorefrontApiKey
from accounts.roles import role_allows
from accounts.selectors import orgs_of_user, roles_by_org, users_sharing_orgs
from accounts.storefront_keys import storefront_key_create, storefront_key_revoke
from core.admin_text import change_message

NOT_YOUR_ROLE = "Your role in this org does not allow this."
OTHER_ORG = "Pick one of this org's own records."


def org_roles(request) -> dict[int, str]:
    """{org id: role} of the requesting user, read once per request."""
    if not hasattr(request, "_org_roles"):
        request._org_roles = roles_by_org(user=request.user)
    return request._org_roles


def role_allows_in(request, org_id, label: str, action: str) -> bool:
    return request.user.is_superuser or role_allows(org_roles(request).get(org_id), label, action)


def orgs_allowing(request, label: str, *actions: str) -> list[int]:
    """Ids of the user's orgs where their role allows every one of `actions` on model `label`."""
    return [org_id for org_id, role in org_roles(request).items()
            if all(role_allows(role, label, action) for action in actions)]


def org_id_of(obj, org_lookup: str):
    """Follow `org_lookup` ("org", "subscription__org") from obj to its org's id."""
    *path, last = org_lookup.split("__")
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def scoped_related_queryset(request, related_model):
    """The choices a non-superuser may pick for a foreign key: rows of their own orgs only; None when the
    related model is not org-owned (left to its own admin)."""
    if related_model is Org:
        return orgs_of_user(user=request.user)
    if related_model is get_user_model():
        return users_sharing_orgs(user=request.user)
    if any(f.name == "org" and f.is_relation for f in related_model._meta.fields):
        return related_model._default_manager.filter(org__in=orgs_of_user(user=request.user))
    return None


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id box that names the object next to the id only when it is one of the choices: a form posted
    back with another org's id must not echo that object's name and link."""

    def __init__(self, rel, admin_site, *, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            allowed = self.queryset.filter(**{key: value}).exists()
        except (ValueError, ValidationError):
            allowed = False
        return super().label_and_url_for_value(value) if allowed else ("", "")


def _scope_foreign_key(model_admin, db_field, request, kwargs) -> dict:
    if request.user.is_superuser or "queryset" in kwargs:
        return kwargs
    queryset = scoped_related_queryset(request, db_field.related_model)
    if queryset is None:
        return kwargs
    if db_field.related_model is Org and hasattr(model_admin, "opts"):
        label = model_admin.opts.label_lower
        queryset = queryset.filter(pk__in=orgs_allowing(request, label, "add") + orgs_allowing(request, label,
                                                                                                "change"))
    kwargs["queryset"] = queryset
    if db_field.name in getattr(model_admin, "raw_id_fields", ()) and "widget" not in kwargs:
        kwargs["widget"] = ScopedRawIdWidget(db_field.remote_field, model_admin.admin_site, queryset=queryset,
                                             using=kwargs.get("using"))
    return kwargs


class OrgScopedAdmin(admin.ModelAdmin):
    """Every org-owned model's admin derives from this; `org_lookup` says how the row reaches its org.

    Staff see only their orgs' rows, change only where their role in the row's org allows it, pick only
    their orgs' rows in every form, and filter by their orgs' orgs and channels only.
    """

    org_lookup = "org"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.org_lookup}__in": orgs_of_user(user=request.user)})

    # Object-level rights: the role in the object's org (model-level ones come from the role groups).

    def _role_allows(self, request, obj, action: str) -> bool:
        return obj is None or role_allows_in(request, org_id_of(obj, self.org_lookup), self.opts.label_lower,
                                             action)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._role_allows(request, obj, "view")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._role_allows(request, obj, "change")

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._role_allows(request, obj, "delete")

    # Filters and forms: never another org's rows.

    def get_list_filter(self, request):
        """A foreign key filter lists only values the user's rows use (Django's plain one lists every org)."""
        scoped = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and "__" not in entry:
                field = self.opts.get_field(entry)
                if field.is_relation:
                    entry = (entry, admin.RelatedOnlyFieldListFilter)
            scoped.append(entry)
        return scoped

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **_scope_foreign_key(self, db_field, request,
                                                                                         kwargs))

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        check = self._check_org_references

        class OrgCheckedForm(base):
            def clean(self):
                cleaned = super().clean()
                check(request, self)
                return cleaned

        OrgCheckedForm.__name__ = base.__name__
        return OrgCheckedForm

    def _check_org_references(self, request, form) -> None:
        """The row's org must be one where the user's role allows the write, and every object the form
        references must belong to the row's org."""
        if "org" in form.fields:
            org = form.cleaned_data.get("org")
            org_id = org.pk if org else None
        else:
            org_id = org_id_of(form.instance, self.org_lookup)
        if org_id is None:
            return
        action = "change" if form.instance.pk else "add"
        if not role_allows_in(request, org_id, self.opts.label_lower, action):
            form.add_error("org" if "org" in form.fields else None, NOT_YOUR_ROLE)
        for name, value in list(form.cleaned_data.items()):
            if (isinstance(value, models.Model) and not isinstance(value, Org)
                    and getattr(value, "org_id", org_id) != org_id and name in form.fields):
                form.add_error(name, OTHER_ORG)

    # Actions run only on the selected rows of orgs where the role allows them.

    def get_actions(self, request):
        actions = super().get_actions(request)
        if request.user.is_superuser:
            return actions
        return {name: (self._org_checked_action(func), name, description)
                for name, (func, name, description) in actions.items()}

    def _org_checked_action(self, func):
        needed = tuple(getattr(func, "allowed_permissions", None) or ("change",))
        label, lookup = self.opts.label_lower, self.org_lookup

        def action(modeladmin, request, queryset):
            allowed = queryset.filter(**{f"{lookup}__in": orgs_allowing(request, label, *needed)})
            skipped = queryset.count() - allowed.count()
            if skipped:
                modeladmin.message_user(request, f"Skipped {skipped} row(s): your role in their org does not "
                                                 "allow this.", messages.WARNING)
            if not allowed.exists():
                return None
            return func(modeladmin, request, allowed)

        action.allowed_permissions = needed
        return action


class OrgScopedInline:
    """For inlines of an org-owned parent: writes need the role in the parent's org to allow them on the
    inline's model."""

    def _parent_allows(self, request, obj, action: str) -> bool:
        if obj is None:
            return True
        org_id = obj.pk if isinstance(obj, Org) else getattr(obj, "org_id", None)
        return role_allows_in(request, org_id, self.opts.label_lower, action)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_allows(request, obj, "add")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_allows(request, obj, "change")

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_allows(request, obj, "delete")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **_scope_foreign_key(self, db_field, request,
                                                                                         kwargs))


class RoleCheckedFSMAdminMixin(FSMAdminMixin):
    """django-fsm-2's transition buttons, shown and run only for those who may change the object (its own
    transition page checks nothing but the transition's `permission`).

    A button posts the whole change form, so Django would log "No fields changed." for every transition:
    that entry is dropped, and the transition's own History line ("Ship: processing to shipped. ...") is
    written by the service that ran it (or by `log_fsm_transition`). A transition without help text gets
    no "None" on its page nor on its button.
    """

    fsm_transition_form_template = "admin/fsm_transition_form.html"

    def get_help_text(self, transition) -> str:
        return super().get_help_text(transition) or ""

    def log_change(self, request, obj, message):
        if request.POST.get(self.fsm_post_param) and not message:
            return None
        return super().log_change(request, obj, message)

    def log_fsm_transition(self, request, obj, transition_name: str, data: dict | None = None) -> None:
        """The History line of a transition whose service does not write one itself."""
        LogEntry.objects.log_actions(user_id=request.user.pk, queryset=[obj], action_flag=CHANGE,
                                     change_message=change_message(transition_name, data=data),
                                     single_object=True)

    def _get_fsm_extra_context(self, *, request, obj):
        if obj is None or not self.has_change_permission(request, obj):
            return iter(())
        return super()._get_fsm_extra_context(request=request, obj=obj)

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        obj = self.get_object(request, object_id)
        if obj is not None and not self.has_change_permission(request, obj):
            raise PermissionDenied
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)


class MembershipInline(OrgScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    """Owners rename their org and manage its members; creating and deleting orgs is for superusers."""

    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(memberships__user=request.user)

    def get_readonly_fields(self, request, obj=None):
        # The slug is every API client's `orgid`: renaming it is not a member's call.
        return [] if request.user.is_superuser else ["slug", "created_at"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or role_allows_in(request, obj.pk, "accounts.org", "view"))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or role_allows_in(request, obj.pk, "accounts.org", "change"))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    """Only owners add, change or remove members (a viewer cannot promote themself). The user field finds
    only users who already share one of the owner's orgs; a superuser creates new accounts."""

    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role", "org"]
    search_fields = ["user__username", "user__email", "org__slug"]
    autocomplete_fields = ["user"]


@admin.register(OrgBranding)
class OrgBrandingAdmin(OrgScopedAdmin):
    """What the public order pages (customer_pages) show for the org."""

    list_display = ["org", "display_name", "logo_url", "support_email"]
    search_fields = ["org__slug", "display_name"]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class OrgUserAdmin(UserAdmin):
    """Owners may look users up (the membership form's search) but only those who share one of their orgs,
    and change none: a user may belong to orgs the owner has no say in. Superusers manage accounts."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(
            pk__in=users_sharing_orgs(user=request.user).values("pk"))

    def has_view_permission(self, request, obj=None):
        # The list (and the search behind the membership form) only: a user's page shows their groups,
        # permissions and password hash summary.
        return super().has_view_permission(request, obj) and (obj is None or request.user.is_superuser)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(StorefrontApiKey)
class StorefrontApiKeyAdmin(OrgScopedAdmin):
    """Keys are named by their prefix only; the full key is shown once, in the message after creating it.
    A key opens an org's customers and checkout, so only owners create or revoke one (accounts.roles)."""

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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "org" and not request.user.is_superuser:
            kwargs["queryset"] = Org.objects.filter(pk__in=orgs_allowing(request, self.opts.label_lower, "add"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        row, key = storefront_key_create(org=obj.org, name=obj.name, created_by=request.user)
        obj.pk, obj.prefix, obj.secret_hash = row.pk, row.prefix, row.secret_hash
        self.message_user(request, f"Storefront key created. Copy it now, it is not shown again: {key}",
                          messages.WARNING)

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for row in queryset:
            storefront_key_revoke(org=row.org, prefix=row.prefix)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
