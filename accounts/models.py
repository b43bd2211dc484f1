from django.conf import settings
from django.db import models


class Org(models.Model):
    """A merchant: every record in the hub belongs to exactly one org, named in requests by its slug."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


# Higher ranks include every right of the lower ones.
ROLE_RANK = {Role.VIEWER: 1, Role.MANAGER: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="unique_membership_per_org")]
        ordering = ["org__slug", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} as {self.role}"

    def has_role(self, required: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(required)]


class OrgBranding(models.Model):
    """What the public order pages show for an org: its display name and logo. The table keeps the
    name it had when it lived in `tracking`."""

    org = models.OneToOneField(Org, on_delete=models.CASCADE, related_name="branding")
    display_name = models.CharField(max_length=200, blank=True, help_text="Defaults to the org's name.")
    logo_url = models.URLField(blank=True)
    accent_color = models.CharField(max_length=7, default="#1f6feb",
                                    help_text="A #rrggbb colour for buttons and links.")
    support_email = models.EmailField(blank=True)

    class Meta:
        db_table = "tracking_orgbranding"
        verbose_name_plural = "org branding"

    def __str__(self) -> str:
        return self.display_name or self.org.name


class StorefrontApiKey(models.Model):
    """The merchant's storefront server, authenticated (issue 15, item 3): it may pass the shipping and tax it
    computed at checkout and read its org's customers' `:author` endpoints.

    Only a sha256 of the key is stored; `prefix` (in the key, and unique) finds the row without a scan, so the
    admin and the API can name a key without being able to use it. The full key is shown once, on creation.
    """

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="storefront_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "storefront API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
