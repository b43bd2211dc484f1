"""What each org role may do, as one table: the admin's groups and object checks both read it.

The API's rules are `IsOrgMember` (reads for every member, writes from `manager`, `write_role = OWNER` on
the owner's endpoints). This table says the same per model, with Django's actions (`view`, `add`, `change`,
`delete`, plus the custom `sync` of channels): a role's group gets exactly these model permissions, and
`OrgScopedAdmin` checks the role the user holds in the object's own org against it. Models are named by
label (accounts imports no higher app); a label of an uninstalled app is skipped.
"""

from __future__ import annotations

from accounts.models import Role

# Every member of an org reads all of its rows (inlines need `view` on their own model too).
ORG_OWNED_MODELS = (
    "accounts.org", "accounts.membership", "accounts.orgbranding", "accounts.storefrontapikey",
    "orders.checkoutsettings",
    "orders.customer", "orders.order", "orders.ordertag", "orders.orderline", "orders.shipment",
    "orders.shipmentline", "orders.inventoryitem", "orders.payment", "orders.refund", "orders.activity",
    "orders.emaillog", "orders.eventhandlerrun",
    "tracking.scanevent",
    "channels_sync.channel", "channels_sync.aggregatedorder", "channels_sync.syncrun",
    "channels_sync.webhookdelivery", "channels_sync.writeback", "channels_sync.writebackattempt",
    "channels_sync.compliancerequest",
    "subscriptions.price", "subscriptions.subscription", "subscriptions.billingcycle",
    "workflows.workflow", "workflows.workflowrun",
    "backoffice.orderlistrow",
)

# The manager's writes, as the API gives them: orders and what hangs off them (verbs and updates, stock,
# parcels and their scans), prices and subscriptions, workflows, channel syncs and status pushes, and the
# retries of failed event runs, webhook deliveries and writebacks. Never channels' settings or credentials.
MANAGER_WRITES = {
    "orders.order": {"change"},
    "orders.customer": {"change"},
    "orders.inventoryitem": {"add", "change"},
    "orders.shipment": {"change"},
    "orders.eventhandlerrun": {"change"},
    "tracking.scanevent": {"add", "change", "delete"},
    "channels_sync.channel": {"sync"},
    "channels_sync.aggregatedorder": {"change"},
    "channels_sync.webhookdelivery": {"change"},
    "channels_sync.writeback": {"change"},
    "subscriptions.price": {"add", "change"},
    "subscriptions.subscription": {"add", "change"},
    "workflows.workflow": {"add", "change", "delete"},
}

# Only owners: the org itself (renaming), who belongs to it, its public branding, its storefront keys and
# checkout rules (prices, shipping, tax, the Stripe key), and its channels (connect,
# edit, enable, disable, delete: the credentials live there). `auth.user` view lets the membership form find
# users; the user admin shows an owner only users who share one of their orgs.
OWNER_WRITES = {
    "accounts.org": {"change"},
    "accounts.membership": {"add", "change", "delete"},
    "accounts.orgbranding": {"add", "change", "delete"},
    "accounts.storefrontapikey": {"add", "change"},
    "orders.checkoutsettings": {"add", "change"},
    "channels_sync.channel": {"add", "change", "delete"},
    # Deleting an order: test orders only (orders.services.order_remove_test refuses real ones), as the API's
    # owner-only remove endpoints.
    "orders.order": {"delete"},
    "auth.user": {"view"},
}


def _merge(*tables: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for table in tables:
        for label, actions in table.items():
            merged.setdefault(label, set()).update(actions)
    return {label: frozenset(actions) for label, actions in merged.items()}


_VIEW_ALL = {label: {"view"} for label in ORG_OWNED_MODELS}

ROLE_RIGHTS: dict[str, dict[str, frozenset[str]]] = {
    Role.VIEWER: _merge(_VIEW_ALL),
    Role.MANAGER: _merge(_VIEW_ALL, MANAGER_WRITES),
    Role.OWNER: _merge(_VIEW_ALL, MANAGER_WRITES, OWNER_WRITES),
}

ROLE_GROUPS = {Role.OWNER: "Org owner", Role.MANAGER: "Org manager", Role.VIEWER: "Org viewer"}


def role_allows(role: str | None, label: str, action: str) -> bool:
    """May `role` do `action` on a row of model `label` (`app_label.modelname`)? No role: nothing."""
    return bool(role) and action in ROLE_RIGHTS[Role(role)].get(label, ())


def sync_role_groups(*, apps=None) -> dict[str, object]:
    """Create the three groups and give each exactly its role's permissions; {role: group}.

    Idempotent, and three queries when nothing changed: cheap enough for every membership change (which is
    when it matters) and after every `migrate` (new models). `apps` is a migration's registry, or None for
    the live models. A permission not created yet is skipped (post_migrate adds it later).
    """
    if apps is None:
        from django.apps import apps
    Group, Permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    wanted = {role: {(label.split(".")[0], f"{action}_{label.split('.')[1]}")
                     for label, actions in ROLE_RIGHTS[role].items() for action in actions
                     if _installed(apps, label)}
              for role in ROLE_GROUPS}
    app_labels = {app_label for keys in wanted.values() for app_label, _ in keys}
    permission_ids = {(app_label, codename): pk for pk, app_label, codename in Permission.objects.filter(
        content_type__app_label__in=app_labels).values_list("pk", "content_type__app_label", "codename")}
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLE_GROUPS.values())}
    held: dict[int, set[int]] = {}
    for group_id, permission_id in Group.permissions.through.objects.filter(
            group_id__in=[g.pk for g in groups.values()]).values_list("group_id", "permission_id"):
        held.setdefault(group_id, set()).add(permission_id)
    by_role = {}
    for role, name in ROLE_GROUPS.items():
        group = groups.get(name) or Group.objects.get_or_create(name=name)[0]
        ids = {permission_ids[key] for key in wanted[role] if key in permission_ids}
        if held.get(group.pk, set()) != ids:
            group.permissions.set(ids)
        by_role[role] = group
    return by_role


def _installed(apps, label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True
