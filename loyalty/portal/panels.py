"""Portal home sections that apps to the right of loyalty contribute (the referral link, for one).

loyalty never imports those apps: each registers its section in its AppConfig.ready(), e.g.

    register_portal_section(key="referrals", template_name="referrals/portal_section.html",
                            context=referral_section_context)

The portal home calls each section's `context(customer, request)` and renders its template with that
dict plus `customer`; a context of None hides the section (e.g. no referral program is running).
Sections that take actions mount their own URLs; the request's `portal_customer` says who is signed in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

SectionContext = Callable[[Any, Any], dict | None]


@dataclass(frozen=True)
class PortalSection:
    key: str
    template_name: str
    context: SectionContext
    order: int = 100


_sections: dict[str, PortalSection] = {}


def register_portal_section(*, key: str, template_name: str, context: SectionContext,
                            order: int = 100) -> PortalSection:
    """Add (or replace, when `key` is known) a section; replacing keeps ready() safe to run twice."""
    section = PortalSection(key=key, template_name=template_name, context=context, order=order)
    _sections[key] = section
    return section


def unregister_portal_section(key: str) -> None:
    _sections.pop(key, None)


def render_portal_sections(customer, request) -> list[SafeString]:
    rendered = []
    for section in sorted(_sections.values(), key=lambda s: (s.order, s.key)):
        context = section.context(customer, request)
        if context is None:
            continue
        rendered.append(render_to_string(section.template_name, {**context, "customer": customer},
                                          request=request))
    return rendered
