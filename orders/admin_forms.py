"""Forms behind the admin's transition buttons (django-fsm-2 shows one before running the verb)."""

from django import forms


def parse_items(text: str) -> list[dict] | None:
    """"SKU-1: 2, SKU-2: 1" (commas or new lines) -> [{"sku", "quantity"}]; blank -> None (everything)."""
    items = []
    for chunk in text.replace("\n", ",").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        sku, sep, quantity = chunk.rpartition(":")
        if not sep or not sku.strip() or not quantity.strip().isdigit():
            raise forms.ValidationError(f"{chunk!r}: write SKU:quantity, e.g. SNK-1:2")
        items.append({"sku": sku.strip(), "quantity": int(quantity)})
    return items or None


class ItemsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "SKU-1: 2, SKU-2: 1"})

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        return parse_items(super().clean(value) or "")


class HoldForm(forms.Form):
    reason = forms.CharField(max_length=500)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=32, help_text="ups, usps, fedex, dhl, ...")
    tracking = forms.CharField(max_length=100)
    service = forms.CharField(max_length=64, required=False)
    cost = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    items = ItemsField(help_text="Leave blank to ship everything still unshipped.")


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0.01, required=False,
                                help_text="Blank: the items' value, or everything still refundable.")
    items = ItemsField(help_text="Optional: the units refunded, for the record.")
    reason = forms.CharField(max_length=500)


def service_kwargs(verb: str, cleaned: dict) -> dict:
    """Form data -> keyword arguments of the verb's service."""
    if verb == "ship":
        kwargs = {"carrier": cleaned["carrier"], "tracking_number": cleaned["tracking"],
                  "service": cleaned.get("service") or "", "items": cleaned.get("items")}
        if cleaned.get("cost") is not None:
            kwargs["cost"] = cleaned["cost"]
        return kwargs
    if verb == "refund":
        return {"amount": cleaned.get("amount"), "items": cleaned.get("items"), "reason": cleaned["reason"]}
    if verb in {"hold", "cancel"}:
        return {"reason": cleaned.get("reason", "")}
    return {}
