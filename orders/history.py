"""The admin History page of an order (Django's LogEntry) for changes made through the services, so a
transition run from the admin, the API or a worker reads "Ship: processing to shipped. carrier: ups; ..."
there instead of "No fields changed." (Activity stays the order's full timeline, automation included.)"""

from django.contrib.admin.models import CHANGE, LogEntry

from core.admin_text import change_message


def history_log(order, *, actor, verb: str, from_status: str = "", to_status: str = "", data=None) -> None:
    """One History line for the change; only a person (a saved user) has one: LogEntry needs a user."""
    if not getattr(actor, "pk", None):
        return
    message = change_message(verb, from_status=from_status, to_status=to_status, data=data)
    LogEntry.objects.log_actions(user_id=actor.pk, queryset=[order], action_flag=CHANGE,
                                 change_message=message[:2000], single_object=True)
