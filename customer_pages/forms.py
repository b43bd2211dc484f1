from django import forms


class OrderLookupForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}))
    order_number = forms.CharField(label="Order number", max_length=32,
                                   widget=forms.TextInput(attrs={"placeholder": "ORD-2026-0042",
                                                                 "autocapitalize": "characters"}))

    def clean_order_number(self) -> str:
        return self.cleaned_data["order_number"].strip().upper()
