import pytest
from django.contrib.auth.models import User

from retention.actors import Actor
from retention.models import AuditEntry
from retention.roles import ADMIN, MARKETING, SUPPORT, has_role
from retention.services.users import (
    UserChangeRejected,
    change_user_role,
    create_user,
    role_of,
    set_user_active,
)

pytestmark = pytest.mark.django_db


def test_create_user_with_a_role(admin_user):
    # when an administrator creates a support agent
    user = create_user(username="dana", email="dana@example.com", password="long-enough-pw-1", role=SUPPORT,
                       actor=Actor.for_user(admin_user))
    # then the user can sign in, holds the role, and the creation is audited without the password
    assert user.check_password("long-enough-pw-1")
    assert role_of(user) == SUPPORT
    assert has_role(User.objects.get(pk=user.pk), SUPPORT) is True
    entry = AuditEntry.objects.get(action="user.created")
    assert entry.after == {"username": "dana", "email": "dana@example.com", "role": SUPPORT, "is_active": True}
    assert entry.actor_user == admin_user


def test_taken_username_is_refused(admin_user, marketer):
    with pytest.raises(UserChangeRejected) as raised:
        create_user(username="ALICE", email="", password="long-enough-pw-1", role=SUPPORT,
                    actor=Actor.for_user(admin_user))
    assert raised.value.code == "username_taken"
    assert User.objects.filter(username__iexact="alice").count() == 1
    assert AuditEntry.objects.count() == 0


def test_change_role_replaces_the_previous_one(admin_user, marketer):
    # when a marketer becomes a support agent
    change_user_role(user=marketer, role=SUPPORT, actor=Actor.for_user(admin_user))
    # then they hold only the new role
    marketer = User.objects.get(pk=marketer.pk)
    assert sorted(marketer.groups.values_list("name", flat=True)) == [SUPPORT]
    entry = AuditEntry.objects.get(action="user.role_changed")
    assert (entry.before["role"], entry.after["role"]) == (MARKETING, SUPPORT)


def test_promote_to_administrator_and_back(admin_user, agent):
    change_user_role(user=agent, role=ADMIN, actor=Actor.for_user(admin_user))
    agent.refresh_from_db()
    assert (agent.is_superuser, agent.is_staff, list(agent.groups.all())) == (True, True, [])
    change_user_role(user=agent, role=MARKETING, actor=Actor.for_user(admin_user))
    agent.refresh_from_db()
    assert (agent.is_superuser, agent.is_staff, role_of(agent)) == (False, False, MARKETING)


def test_administrator_cannot_drop_their_own_admin_role(admin_user):
    with pytest.raises(UserChangeRejected) as raised:
        change_user_role(user=admin_user, role=MARKETING, actor=Actor.for_user(admin_user))
    assert raised.value.code == "own_admin_role"
    admin_user.refresh_from_db()
    assert admin_user.is_superuser is True
    assert AuditEntry.objects.count() == 0


def test_deactivate_then_reactivate(admin_user, agent):
    # when an agent is deactivated
    set_user_active(user=agent, is_active=False, actor=Actor.for_user(admin_user))
    # then they no longer hold a role, and the change is audited
    agent.refresh_from_db()
    assert agent.is_active is False
    assert has_role(agent, SUPPORT) is False
    set_user_active(user=agent, is_active=True, actor=Actor.for_user(admin_user))
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "user.deactivated", "user.reactivated"]


def test_nobody_deactivates_themselves(admin_user):
    with pytest.raises(UserChangeRejected) as raised:
        set_user_active(user=admin_user, is_active=False, actor=Actor.for_user(admin_user))
    assert raised.value.code == "own_account"
    admin_user.refresh_from_db()
    assert admin_user.is_active is True
