"""Domain errors. The API's one exception handler turns them into the error format of API.md."""


class DomainError(Exception):
    """A business rule said no. `code` is the machine code the API answers with."""

    status = 422
    code = "rejected"

    def __init__(self, message: str = "", *, code: str | None = None, fields: dict | None = None):
        super().__init__(message or self.code)
        self.message = message or str(self.code).replace("_", " ")
        if code is not None:
            self.code = code
        self.fields = fields or {}


class ReasonError(DomainError):
    """A refusal whose `reason` is one of the app's TextChoices (`reasons`): its value is the API's code,
    its label the default message."""

    reasons: type  # a django.db.models.TextChoices

    def __init__(self, reason, message: str = "", *, fields: dict | None = None):
        self.reason = self.reasons(reason)
        super().__init__(message or self.reason.label, code=self.reason.value, fields=fields)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidInput(DomainError):
    """Input that passed the serializer but is still wrong (a field-level 400)."""

    status = 400
    code = "invalid"
