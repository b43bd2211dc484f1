"""Errors a service raises; the API's exception handler turns them into the one error shape."""

from rest_framework import exceptions, status


class ApiError(exceptions.APIException):
    """An error with a code and details chosen by the service that raised it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict | None = None,
                 status_code: int | None = None):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class UpstreamError(ApiError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "upstream_error"
    default_detail = "An upstream service failed."
