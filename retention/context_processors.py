from retention.roles import MARKETING, SUPPORT, has_role


def roles(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_marketer": has_role(user, MARKETING),
        "is_support": has_role(user, SUPPORT, MARKETING),
        "is_admin": user.is_superuser,
    }
