"""OpenAPI: one `Error` component, and the error answers each operation can give documented on it.

A client reading /api/schema/ (and schemathesis checking us against it) must find every status
the hub can answer. Most errors come from the same few places for every view - the orgid
permission, JWT, the body parser, the size limit, throttles - so they are derived here from the
view's own classes instead of being repeated in each @extend_schema. Explicit entries win.

The same goes for each operation's security (issue 18): a permission class names the schemes it
needs (`openapi_security`, accounts.permissions), so Swagger's "Try it out" sends the bearer token
and the `orgid` header exactly where the view checks them, and nothing on public operations. Every
operation gets a summary (extend_schema's, else the first line of our own docstring) and a
description that ends with what it needs to authenticate.
"""

import inspect

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


ORG_SCHEME = "orgid"  # settings.SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]
JWT_SCHEME = "jwtAuth"  # drf-spectacular's name for simplejwt's JWTAuthentication

AUTH_SENTENCES = {
    frozenset(): "Auth: none (public).",
    frozenset({JWT_SCHEME}): "Auth: `Authorization: Bearer <access token>` from POST /auth/token.",
    frozenset({JWT_SCHEME, ORG_SCHEME}): "Auth: `Authorization: Bearer <access token>` from POST /auth/token, and "
                                         "the `orgid` header naming an org you are a member of.",
    frozenset({ORG_SCHEME}): "Auth: the `orgid` header naming the org; no login.",
}


def own_doc(obj) -> str:
    """The docstring written on this very view class or method in this project. Inherited ones are DRF's and
    Django's generic texts ("Concrete view for listing a queryset.") or a mixin's, which say nothing to a client."""
    if obj is None:
        return ""
    module = getattr(obj, "__module__", "") or ""
    if module.startswith(("rest_framework.", "django.", "drf_spectacular.")):
        return ""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if doc and doc.strip() else ""


class HubAutoSchema(AutoSchema):
    def security_schemes(self) -> list[dict] | None:
        """What the view's permissions check, each permission naming its schemes (`openapi_security`: a list of
        requirements, each a tuple of scheme names that go together). None: no permission says."""
        declared = [getattr(permission, "openapi_security", None) for permission in self.view.get_permissions()]
        declared = [requirements for requirements in declared if requirements is not None]
        if not declared:
            return None
        requirements: list[dict] = []
        for group in declared:
            for names in group:
                requirement = {name: [] for name in names}
                if requirement not in requirements:
                    requirements.append(requirement)
        return requirements

    def get_auth(self):
        derived = super().get_auth()  # also registers the authenticators' scheme components
        declared = self.security_schemes()
        if declared is None:  # e.g. AllowAny: drf-spectacular marks the login optional with {}; it is not needed
            return [] if {} in derived else derived
        return declared

    def get_description(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        return own_doc(method) or own_doc(self.view.__class__)

    def get_summary(self) -> str | None:
        """extend_schema's summary wins (it overrides this method); else our docstring's first line."""
        first = self.get_description().split("\n\n")[0].replace("\n", " ").strip()
        if len(first) > 120 and ". " in first:
            first = first.split(". ")[0]
        return first.rstrip(".") or None

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if ORG_SCHEME in schemes:
            # The scheme sends the header: an explicit orgid parameter as well would ask for it twice.
            operation["parameters"] = [p for p in operation.get("parameters", [])
                                       if not (p.get("in") == "header" and p.get("name") == ORG_SCHEME)]
            if not operation["parameters"]:
                del operation["parameters"]
        auth = AUTH_SENTENCES.get(frozenset(schemes), "Auth: " + " and ".join(sorted(schemes)) + ".")
        text = operation.get("description") or operation.get("summary") or ""
        operation["description"] = f"{text}\n\n{auth}".strip()
        return operation

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
