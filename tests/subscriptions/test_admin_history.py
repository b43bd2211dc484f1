"""A subscription's History names the button pressed ("Pause"), not "No fields changed." (issue 17)."""

from tests.subscriptions.conftest import subscribe
from tests.subscriptions.test_admin import staff_client  # noqa: F401 (fixture)


def test_pause_button_writes_a_history_line_naming_it(staff_client, org, coffee):  # noqa: F811
    sub = subscribe(org, coffee)
    url = f"/admin/subscriptions/subscription/{sub.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key in form.fields}
    data.update({"customer": sub.customer_id, "price": sub.price_id, "org": org.pk,
                 "shipping_address": "{}", "_fsm_transition_to": "pause",
                 "cycles-TOTAL_FORMS": "0", "cycles-INITIAL_FORMS": "0"})
    assert staff_client.post(url, data).status_code == 302
    history = staff_client.get(f"/admin/subscriptions/subscription/{sub.pk}/history/").content.decode()
    assert "No fields changed." not in history
    assert "Pause" in history
