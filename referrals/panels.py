"""The referrals panel on the back-office customer page and the section on the portal home."""

from urllib.parse import quote

from referrals import queries
from referrals.errors import ReferralError
from referrals.models import Referral
from referrals.services.codes import get_or_create_referral_code
from retention.actors import Actor


def customer_panel_context(customer, request) -> dict:
    program = queries.default_program()
    if program is None:
        return {"program": None}
    code = queries.code_for(program, customer)
    made_to = (Referral.objects.filter(friend=customer).select_related("referrer", "program").first())
    return {"program": program, "code": code, "link": program.link_for(code.code) if code else "",
            "summary": queries.referrer_summary(program, customer), "referred_by": made_to}


def share_links(link: str, text: str) -> dict:
    """Plain share URLs: no third-party script on the page."""
    message = quote(f"{text} {link}")
    return {
        "email": f"mailto:?subject={quote(text)}&body={message}",
        "whatsapp": f"https://wa.me/?text={message}",
        "x": f"https://twitter.com/intent/tweet?text={quote(text)}&url={quote(link, safe='')}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={quote(link, safe='')}",
    }


def portal_section_context(customer, request) -> dict | None:
    """The customer's link (the code is created on first view), friends invited and converted, rewards.
    None (no section) without an enabled program or when the customer may not refer."""
    program = queries.default_program()
    if program is None or not program.is_enabled:
        return None
    try:
        code = get_or_create_referral_code(program=program, customer=customer,
                                           actor=Actor.customer(customer.source_id))
    except ReferralError:
        return None
    link = program.link_for(code.code)
    return {"program": program, "code": code, "link": link,
            "share": share_links(link, "Join me and get a welcome gift:"),
            "summary": queries.referrer_summary(program, customer)}
