from django import forms


class ChangePlanForm(forms.Form):
    """Admin form of the change-plan action: effective from the next billing cycle."""

    price_id = forms.CharField(required=False, max_length=64, help_text="New price id (blank: keep).")
    quantity = forms.IntegerField(required=False, min_value=1, help_text="New quantity (blank: keep).")

    def clean(self):
        data = super().clean()
        if not data.get("price_id") and not data.get("quantity"):
            raise forms.ValidationError("Give a price id, a quantity or both.")
        return data
