"""OpenAPI: one `Error` component, and the error answers each operation can give documented on it.

A client reading /api/schema/ (and schemathesis checking us against it) must find every status
the hub can answer. Most errors come from the same few places for every view - the orgid
permission, JWT, the body parser, the size limit, throttles - so they are derived here from the
view's own classes instead of being repeated in each @extend_schema. Explicit entries win.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.throttling import ScopedRateThrottle


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid_transition.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="Field errors or facts about the refusal; may be empty.")


class ErrorSerializer(serializers.Serializer):
    """{"error": {"code", "message", "details"}} - the one error shape (core/api/errors.py)."""

    error = ErrorBodySerializer()


ERROR = ErrorSerializer

DESCRIPTIONS = {
    "400": "Invalid request: field errors, malformed JSON, or the orgid header missing.",
    "401": "No valid bearer token (or wrong credentials).",
    "403": "Your role in the org does not allow this.",
    "404": "Not found: the object, another org's object, or an org you are not a member of.",
    "409": "Conflicts with the current state (e.g. a transition not allowed from it).",
    "413": "Body larger than MAX_REQUEST_BODY_BYTES.",
    "415": "Unsupported Content-Type: send application/json.",
    "429": "Rate-limited; details.retryAfterSeconds says when to retry.",
    "502": "An upstream service (channel, carrier, payment gateway) failed.",
}


class HubAutoSchema(AutoSchema):
    def error_statuses(self) -> set[str]:
        """The error statuses this operation can answer, read off the view's classes."""
        view = self.view
        codes: set[str] = set(getattr(view, "documented_errors", ()))
        has_body = self.method in ("POST", "PUT", "PATCH")
        if view.get_authenticators():
            codes.add("401")  # a bad or expired bearer token is refused even on open views
        # Each permission class says what it answers (accounts.permissions), so core names no app.
        for permission in view.get_permissions():
            codes |= set(getattr(permission, "documented_errors", ()))
            if getattr(permission, "documents_403_on_write", False) and (
                    has_body or self.method == "DELETE" or getattr(view, "required_role", None)):
                codes.add("403")
        if has_body:
            codes |= {"400", "413", "415"}
        if "(?P<" in self.path_regex or (self.method == "GET" and self._is_list_view()):
            codes.add("404")  # objects named in the path; a page past the end
        if any(not isinstance(t, ScopedRateThrottle) or getattr(view, "throttle_scope", None)
               for t in view.get_throttles()):
            codes.add("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self.error_statuses()):
            if code not in responses:
                responses[code] = {**self._get_response_for_code(ERROR, code, direction=direction),
                                   "description": DESCRIPTIONS[code]}
        return responses
