"""Apps to the right of loyalty add sections to the portal home through the registry."""

import pytest
from django.template import engines

from loyalty.portal import panels


@pytest.fixture
def section(monkeypatch):
    # Only this test's section: the referral app's own section reads the database.
    monkeypatch.setattr(panels, "_sections", {})
    registered = panels.register_portal_section(
        key="test-section", template_name="portal/_test_section.html",
        context=lambda customer, request: {"greeting": "Invite a friend"} if customer else None)
    yield registered
    panels.unregister_portal_section("test-section")


def test_sections_render_in_order_and_hide_without_context(section, monkeypatch):
    engine = engines["django"]
    monkeypatch.setattr(panels, "render_to_string",
                        lambda name, context, request=None: engine.from_string("{{ greeting }}").render(context))
    assert panels.render_portal_sections(object(), None) == ["Invite a friend"]
    assert panels.render_portal_sections(None, None) == []
