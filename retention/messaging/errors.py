"""Domain errors of messaging. Send errors decide between retrying and giving up."""


class TransientSendError(Exception):
    """The provider may accept the message later (timeout, 5xx, 429, connection refused): retry."""


class PermanentSendError(Exception):
    """The provider will never accept this message (invalid address, 4xx): mark it dead now."""


class TemplateInvalid(Exception):
    """A message template does not compile or render; `problems` say where and why."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p}" for p in self.problems))
