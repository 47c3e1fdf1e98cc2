"""factory-boy factories of campaigns. Counters start at zero; services move them."""

import factory
from django.utils import timezone

from campaigns.models import Campaign, Code, CodeSource, DiscountType, Redemption


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    discount_type = DiscountType.PERCENT
    percent = 10
    currency = "EUR"


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Code

    code = factory.Sequence(lambda n: f"TESTCODE{n:06d}")
    campaign = factory.SubFactory(CampaignFactory)
    source = CodeSource.API
    max_uses = 1
    issued_at = factory.LazyFunction(timezone.now)


class RedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Redemption

    code = factory.SubFactory(CodeFactory)
    campaign = factory.SelfAttribute("code.campaign")
    order_source_id = factory.Sequence(lambda n: f"order-{n}")
    order_amount = 10000
    currency = "EUR"
    discount_amount = 1000
