"""Model fields whose values are stored encrypted (see core/crypto.py). Not searchable by design."""

import json

from django.db import models

from core import crypto


class EncryptedTextField(models.TextField):
    """A string stored as a Fernet token; empty stays empty so blank secrets cost nothing."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return self.decode(crypto.decrypt(value))

    def get_prep_value(self, value):
        value = self.encode(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

    def encode(self, value):
        return value

    def decode(self, plaintext):
        return plaintext


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (dict) stored as one Fernet token."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def encode(self, value):
        return None if value is None else json.dumps(value, sort_keys=True)

    def decode(self, plaintext):
        return json.loads(plaintext)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))


def encrypted_fields():
    """(model, [field names]) for every model holding encrypted values."""
    from django.apps import apps

    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names
