"""One exception handler: every error answers {"error": {"code", "message", "fields"}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from retention.errors import DomainError


def error_response(http_status: int, code: str, message: str, fields: dict | None = None, headers=None) -> Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return Response(body, status=http_status, headers=headers)


def _flatten(detail) -> dict:
    """DRF's nested ValidationError detail -> {"field": ["message", ...], "items.0.sku": [...]}."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            if all(not isinstance(item, (dict, list)) for item in value):
                fields.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in value)
            else:
                for index, inner in enumerate(value):
                    if inner:
                        walk(f"{prefix}.{index}", inner)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return fields


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.status, str(exc.code), exc.message, exc.fields)
    if isinstance(exc, Http404):
        return error_response(status.HTTP_404_NOT_FOUND, "not_found", str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        summary = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        return error_response(400, "invalid", f"Invalid input. {summary}", fields)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return error_response(429, "rate_limited", f"Too many requests; retry in {wait} s.",
                              headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.APIException):
        code_by_status = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                          406: "not_acceptable", 415: "unsupported_media_type"}
        code = code_by_status.get(exc.status_code, exc.default_code)
        if exc.status_code == 400:
            code = "malformed"
        headers = {}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)
    return None
