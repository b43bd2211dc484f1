"""Admin for workflows and every run they recorded (when, outcome, error, per-action results)."""

from django.contrib import admin

from accounts.admin import OrgScopedAdmin
from workflows.models import Workflow, WorkflowRun


class WorkflowRunInline(admin.TabularInline):
    model = WorkflowRun
    extra = 0
    can_delete = False
    fields = ["order", "event", "status", "scheduled_for", "finished_at", "attempts", "error"]
    readonly_fields = fields
    ordering = ["-created_at"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workflow)
class WorkflowAdmin(OrgScopedAdmin):
    list_display = ["name", "org", "trigger_event", "enabled", "delay_seconds", "updated_at"]
    list_filter = ["enabled", "trigger_event", "org"]
    search_fields = ["name", "description"]
    inlines = [WorkflowRunInline]


@admin.register(WorkflowRun)
class WorkflowRunAdmin(OrgScopedAdmin):
    list_display = ["workflow", "order", "event", "status", "scheduled_for", "finished_at", "attempts"]
    list_filter = ["status", "event"]
    search_fields = ["workflow__name", "order__order_number", "error"]
    readonly_fields = ["org", "workflow", "order", "event", "event_payload", "status", "scheduled_for", "attempts",
                       "started_at", "finished_at", "error", "results", "created_at"]

    def has_add_permission(self, request):
        return False
