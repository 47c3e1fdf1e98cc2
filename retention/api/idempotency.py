"""`@idempotent` on an APIView's `post`: honours the Idempotency-Key header (API.md, Conventions)."""

import hashlib
import json
import time
from functools import wraps

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from retention.errors import InvalidInput
from retention.services.idempotency import (
    IdempotencyConflict,
    claim_idempotency_key,
    complete_idempotency_key,
    release_idempotency_key,
)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The same key with the same body returns the first answer and does nothing again "
                "(kept 24 hours); with a different body: 409 idempotency_key_reused.",
)


def request_hash(request) -> str:
    """Method, path and the parsed body in a canonical form: key order and spacing do not matter."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


# A request whose key is being answered by another one waits this long for that answer (then 409
# request_in_progress), so two clients retrying at once both get the first answer. Below gunicorn's timeout.
DEFAULT_WAIT_SECONDS = 10


def _claim(request, key: str):
    """claim_idempotency_key, waiting (short, growing sleeps) while another request holds the key."""
    deadline = time.monotonic() + settings.RETENTION.get("IDEMPOTENCY_WAIT_SECONDS", DEFAULT_WAIT_SECONDS)
    fingerprint = request_hash(request)
    pause = 0.01
    while True:
        try:
            return claim_idempotency_key(api_key=request.auth, key=key, request_hash=fingerprint)
        except IdempotencyConflict as conflict:
            if conflict.code != "request_in_progress" or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def idempotent(post):
    @wraps(post)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return post(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"At most {MAX_KEY_LENGTH} characters.", fields={HEADER: ["too long"]})
        record, claimed = _claim(request, key)
        if not claimed:
            return Response(record.response_body, status=record.response_status,
                            headers={"Idempotent-Replayed": "true"})
        try:
            try:
                response = post(view, request, *args, **kwargs)
            except Exception as exc:
                # A refusal (400, 404, 422) is an answer like any other: store it. The handler re-raises
                # what it cannot map, which releases the key below.
                response = view.handle_exception(exc)
        except BaseException:
            release_idempotency_key(record=record)
            raise
        if response.status_code >= 500:
            release_idempotency_key(record=record)
        else:
            body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            complete_idempotency_key(record=record, status=response.status_code, body=body)
        return response

    return wrapper
