from django import forms


class OrderLookupForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}))
    order_number = forms.CharField(label="Order number", max_length=32,
                                   widget=forms.TextInput(attrs={"placeholder": "ORD-2026-0042",
                                                                 "autocapitalize": "characters"}))

    def clean_order_number(self) -> str:
        return self.cleaned_data["order_number"].strip().upper()


class CancelRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why do you want to cancel?", max_length=400,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 400,
                                     "placeholder": "For example: ordered the wrong size"}),
        error_messages={"required": "Please give a reason, so the store can help.",
                        "max_length": "Please keep it under 400 characters."})
