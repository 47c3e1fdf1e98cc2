"""Shared fixtures: the three roles (after Healthchecks' alice, bob and charlie), an API client, Chromium."""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # browser tests run the ORM beside Playwright's loop

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from retention.roles import MARKETING, SUPPORT

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _tests_are_not_inside_a_task():
    """Celery keeps a process-wide "inside a worker" flag; once any code path sets it, every later eager
    `.delay().get()` in a test raises "Never call result.get() within a task!". Each test starts outside."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True)
def _postgres_marked_tests_need_postgres(request):
    """`@pytest.mark.postgres` tests race real connections; SQLite (make test without DATABASE_URL) skips them."""
    if request.node.get_closest_marker("postgres") is not None:
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    yield


@pytest.fixture(scope="session", autouse=True)
def _require_postgres(django_db_setup, django_db_blocker):
    """CI sets REQUIRE_POSTGRES=1: a silent fallback to SQLite would hide concurrency bugs."""
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        from django.db import connection

        assert connection.vendor == "postgresql", f"tests ran on {connection.vendor}, not PostgreSQL"


def _user_with_role(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, email=f"{username}@example.com")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])  # flushed by transactional tests
    return user


@pytest.fixture
def marketer(db) -> User:
    return _user_with_role("alice", MARKETING)


@pytest.fixture
def agent(db) -> User:
    return _user_with_role("bob", SUPPORT)


@pytest.fixture
def outsider(db) -> User:
    return _user_with_role("charlie", None)


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser(username="root", password="pw-root", email="root@example.com")


@pytest.fixture
def api_key_secret(db) -> str:
    from retention.actors import Actor
    from retention.services.api_keys import create_api_key

    _api_key, secret = create_api_key(name="shop", actor=Actor.system("test"))
    return secret


@pytest.fixture
def api(api_key_secret) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_secret}")
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture
def signed_in_page(page, live_server):
    """A Playwright page factory: signed_in_page(user) returns the page signed in as that user."""

    def sign_in(user: User, password: str | None = None):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password or "pw-" + user.username)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return sign_in



def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback"))) or bool(
        {"live_server", "transactional_db", "live_server_url"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Tests marked `forks` run first among the transactional tests (pytest-django runs those after the others,
    so a flush never removes data the others expect): os.fork() while the live server's or Playwright's threads
    hold a lock leaves the child waiting on it for ever."""
    forking = [item for item in items if item.get_closest_marker("forks")]
    if not forking:
        return
    rest = [item for item in items if not item.get_closest_marker("forks")]
    first_transactional = next((index for index, item in enumerate(rest) if _is_transactional(item)), len(rest))
    items[:] = rest[:first_transactional] + forking + rest[first_transactional:]
