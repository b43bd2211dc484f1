"""Request serializers that refuse fields they do not know.

DRF drops unknown keys silently, so a client's typo (`billing_address` for `billingAddress`, a
`price` on a cart line) would be accepted and ignored. Public request bodies say so with a 400
naming each unknown field instead. Free-form objects (addresses, config) are DictFields and keep
whatever keys they are given.
"""

from collections.abc import Mapping

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)
