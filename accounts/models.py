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
