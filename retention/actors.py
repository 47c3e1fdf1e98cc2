"""Who is acting: a back-office user, an API key, or the system itself (a task, a command)."""

from dataclasses import dataclass

from retention.models import ApiKey


@dataclass(frozen=True)
class Actor:
    user: object | None = None
    api_key: ApiKey | None = None
    label: str = "system"

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(user=user, label=user.get_username())

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> "Actor":
        return cls(api_key=api_key, label=f"api:{api_key.name}")

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(label=label)

    @classmethod
    def customer(cls, source_id: str) -> "Actor":
        return cls(label=f"customer:{source_id}")
