"""campaigns.services.codes.withdraw_code: an unused code is disabled once, audited; a used one stays."""

import pytest

from campaigns.discounts import OrderInput
from campaigns.errors import CodeRejected, RejectReason
from campaigns.services.codes import ALREADY_USED, ALREADY_WITHDRAWN, WITHDRAWN, withdraw_code
from campaigns.services.redemptions import redeem_code
from campaigns.tests.factories import CodeFactory
from retention.actors import Actor
from retention.models import AuditEntry

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def an_order(source_id: str = "order-1") -> OrderInput:
    return OrderInput(amount=10000, currency="EUR", items=(), source_id=source_id, shipping_amount=None)


def test_an_unused_code_is_withdrawn_once_and_audited_and_then_refused():
    code = CodeFactory(max_uses=3)
    assert withdraw_code(code=code, reason="referral 7 cancelled", actor=ACTOR) == WITHDRAWN
    assert withdraw_code(code=code, reason="again", actor=ACTOR) == ALREADY_WITHDRAWN
    code.refresh_from_db()
    assert code.is_disabled is True
    entries = AuditEntry.objects.filter(action="code.withdrawn")
    assert [entry.after["reason"] for entry in entries] == ["referral 7 cancelled"]
    with pytest.raises(CodeRejected) as refusal:
        redeem_code(code=code.code, customer_source_id=None, order=an_order(), actor=ACTOR)
    assert refusal.value.reason == RejectReason.CODE_DISABLED


def test_a_used_code_stays_usable_and_nothing_is_audited():
    code = CodeFactory(max_uses=3)
    redeem_code(code=code.code, customer_source_id=None, order=an_order(), actor=ACTOR)
    assert withdraw_code(code=code, reason="too late", actor=ACTOR) == ALREADY_USED
    code.refresh_from_db()
    assert (code.is_disabled, code.uses_count) == (False, 1)
    assert not AuditEntry.objects.filter(action="code.withdrawn").exists()


def test_withdrawing_is_one_update(django_assert_num_queries):
    code = CodeFactory()
    with django_assert_num_queries(4):  # savepoint, the conditional UPDATE, the audit row, release
        withdraw_code(code=code, reason="x", actor=ACTOR)
