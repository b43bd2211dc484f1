"""Every sequence of actions follows the action table (hypothesis over the FSM)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.models import Subscription
from subscriptions.services import ActionNotAllowed, subscription_apply_action
from tests.subscriptions.conftest import subscribe

# state -> action -> next state (None: not allowed, a 409)
TABLE = {
    "active": {"pause": "paused", "resume": None, "cancel": "cancelled", "change-plan": "active"},
    "paused": {"pause": None, "resume": "active", "cancel": "cancelled", "change-plan": "paused"},
    "cancelled": {"pause": None, "resume": None, "cancel": None, "change-plan": None},
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(["pause", "resume", "cancel", "change-plan"]), max_size=8))
def test_any_sequence_of_actions_follows_the_table(org, coffee, actions):
    sub = subscribe(org, coffee, email=f"h{Subscription.objects.count()}@example.com")
    expected = "active"
    for action in actions:
        allowed = TABLE[expected][action]
        try:
            subscription_apply_action(org=org, subscription_id=sub.subscription_id, action=action, quantity=2)
        except ActionNotAllowed as exc:
            assert allowed is None, (expected, action)
            assert exc.details["currentState"] == expected
            assert exc.details["allowedActions"] == [a for a, target in TABLE[expected].items() if target]
        else:
            assert allowed is not None, (expected, action)
            expected = allowed
        sub.refresh_from_db()
        assert sub.status == expected
        assert (sub.next_billing_at is None) == (expected != "active")
