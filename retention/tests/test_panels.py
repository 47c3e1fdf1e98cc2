import pytest
from django.test import RequestFactory, override_settings

from retention import panels
from retention.tests.factories import CustomerFactory


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test, so panels registered by installed apps do not interfere."""
    monkeypatch.setattr(panels, "_panels", {})
    return panels


def test_panels_come_in_order_then_by_key(registry):
    # given three panels registered out of order
    registry.register_customer_panel(key="referrals", title="Referrals", template_name="r.html",
                                     context=lambda customer, request: {}, order=300)
    registry.register_customer_panel(key="points", title="Points", template_name="p.html",
                                     context=lambda customer, request: {}, order=200)
    registry.register_customer_panel(key="codes", title="Codes", template_name="c.html",
                                     context=lambda customer, request: {}, order=200)
    # when the page asks for them
    keys = [panel.key for panel in registry.customer_panels()]
    # then they come by order, ties by key
    assert keys == ["codes", "points", "referrals"]


def test_registering_a_key_again_replaces_the_panel(registry):
    # given a panel registered twice (ready() may run twice in tests)
    registry.register_customer_panel(key="codes", title="Old", template_name="c.html", context=lambda c, r: {})
    registry.register_customer_panel(key="codes", title="Codes", template_name="c.html", context=lambda c, r: {})
    # then it is there once, as registered last
    assert [(panel.key, panel.title) for panel in registry.customer_panels()] == [("codes", "Codes")]


def test_unregister_removes_the_panel(registry):
    registry.register_customer_panel(key="codes", title="Codes", template_name="c.html", context=lambda c, r: {})
    registry.unregister_customer_panel("codes")
    registry.unregister_customer_panel("unknown")  # no error
    assert registry.customer_panels() == []


@pytest.mark.django_db
def test_render_calls_each_context_once_with_the_customer(registry, tmp_path):
    # given a panel whose template shows its context and the customer
    (tmp_path / "panel.html").write_text("{{ customer.source_id }} has {{ points }} points")
    calls = []

    def context(customer, request):
        calls.append((customer.source_id, request.path))
        return {"points": 120}

    registry.register_customer_panel(key="points", title="Points", template_name="panel.html", context=context)
    customer = CustomerFactory(source_id="c-1")
    request = RequestFactory().get("/customers/1/")
    # when the panels are rendered
    with override_settings(TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                                       "DIRS": [tmp_path]}]):
        rendered = registry.render_customer_panels(customer, request)
    # then the context ran once and the template saw it
    assert calls == [("c-1", "/customers/1/")]
    assert [(panel.key, panel.title, panel.html) for panel in rendered] == [("points", "Points", "c-1 has 120 points")]
