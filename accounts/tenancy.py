"""Scope once: every org-owned queryset in the API comes through here."""

from django.db.models import Model, QuerySet
from django.http import Http404


class OrgScopedMixin:
    """For DRF views: `get_queryset()` is always the view's queryset filtered to `request.org`.

    Subclasses customise with `scope_queryset(qs)`, which only ever sees the org's rows, so a
    view cannot forget the filter by overriding `get_queryset`.
    """

    org_field = "org"

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset().filter(**{self.org_field: self.request.org})
        return self.scope_queryset(queryset)

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset


def get_for_org(model_or_qs: type[Model] | QuerySet, *, org, org_field: str = "org", **lookup):
    """One row of the org's, or Http404 alike for a missing row and another org's row."""
    queryset = model_or_qs if isinstance(model_or_qs, QuerySet) else model_or_qs.objects.all()
    obj = queryset.filter(**{org_field: org}, **lookup).first()
    if obj is None:
        raise Http404
    return obj
