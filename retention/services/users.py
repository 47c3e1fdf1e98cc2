"""Back-office users and their role: one role per user, as the Settings page shows it."""

from django.contrib.auth.models import Group, User
from django.db import transaction

from retention.actors import Actor
from retention.audit import record_audit
from retention.roles import ADMIN, MARKETING, SUPPORT

ROLE_CHOICES = [
    (MARKETING, "Marketing ops"),
    (SUPPORT, "Support agent"),
    (ADMIN, "Administrator (everything, including Settings)"),
]
_GROUP_ROLES = [MARKETING, SUPPORT]


class UserChangeRejected(Exception):
    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


def role_of(user: User) -> str:
    """The role shown for `user`: administrator first, then the first role group, else ''."""
    if user.is_superuser:
        return ADMIN
    names = {group.name for group in user.groups.all()}  # prefetched by the users page
    return next((role for role in _GROUP_ROLES if role in names), "")


def _picture(user: User) -> dict:
    return {"username": user.username, "email": user.email, "role": role_of(user), "is_active": user.is_active}


def _apply_role(user: User, role: str) -> None:
    if role not in dict(ROLE_CHOICES):
        raise UserChangeRejected("unknown_role", f"Unknown role {role!r}.")
    user.is_superuser = user.is_staff = role == ADMIN
    user.save(update_fields=["is_superuser", "is_staff"])
    user.groups.remove(*Group.objects.filter(name__in=_GROUP_ROLES))
    if role in _GROUP_ROLES:
        user.groups.add(Group.objects.get_or_create(name=role)[0])


@transaction.atomic(durable=True)
def create_user(*, username: str, email: str, password: str, role: str, actor: Actor) -> User:
    """Create an active user holding `role`. Raises UserChangeRejected (username_taken, unknown_role)."""
    if User.objects.filter(username__iexact=username).exists():
        raise UserChangeRejected("username_taken", "A user with this username already exists.")
    user = User.objects.create_user(username=username, email=email, password=password)
    _apply_role(user, role)
    record_audit(actor=actor, action="user.created", target=user, after=_picture(user))
    return user


@transaction.atomic(durable=True)
def change_user_role(*, user: User, role: str, actor: Actor) -> User:
    """Give `user` exactly `role`. Administrators cannot take their own administrator role away."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == getattr(actor.user, "pk", None) and user.is_superuser and role != ADMIN:
        raise UserChangeRejected("own_admin_role", "You cannot remove your own administrator role.")
    before = _picture(user)
    _apply_role(user, role)
    after = _picture(user)
    if after != before:
        record_audit(actor=actor, action="user.role_changed", target=user, before=before, after=after)
    return user


@transaction.atomic(durable=True)
def set_user_active(*, user: User, is_active: bool, actor: Actor) -> User:
    """Deactivate (the user can no longer sign in) or reactivate. Nobody deactivates themselves."""
    if not is_active and user.pk == getattr(actor.user, "pk", None):
        raise UserChangeRejected("own_account", "You cannot deactivate your own account.")
    updated = User.objects.filter(pk=user.pk).exclude(is_active=is_active).update(is_active=is_active)
    user.refresh_from_db()
    if updated:
        action = "user.reactivated" if is_active else "user.deactivated"
        record_audit(actor=actor, action=action, target=user,
                     before={"is_active": not is_active}, after={"is_active": is_active})
    return user
