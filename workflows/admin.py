"""Admin for workflows and every run they recorded (when, outcome, error, per-action results)."""

from django import forms
from django.contrib import admin

from accounts.admin import OrgScopedAdmin
from workflows.models import Workflow, WorkflowRun, new_signing_secret


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


class WorkflowForm(forms.ModelForm):
    """The signing secret is write-only here, like a channel's webhook secret: never rendered back into the page,
    and an empty field keeps the stored one."""

    signing_secret = forms.CharField(required=False, min_length=16, max_length=100,
                                     widget=forms.PasswordInput(render_value=False),
                                     help_text="Set; leave empty to keep the current secret.")

    class Meta:
        model = Workflow
        fields = ["org", "name", "description", "enabled", "trigger_event", "condition_channel", "condition_tag",
                  "condition_total_at_least", "delay_seconds", "actions", "signing_secret"]

    def clean_signing_secret(self):
        value = self.cleaned_data.get("signing_secret")
        if value:
            return value
        return self.instance.signing_secret if self.instance.pk else new_signing_secret()


@admin.register(Workflow)
class WorkflowAdmin(OrgScopedAdmin):
    form = WorkflowForm
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
