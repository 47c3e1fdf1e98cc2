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


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidInput(DomainError):
    """Input that passed the serializer but is still wrong (a field-level 400)."""

    status = 400
    code = "invalid"
