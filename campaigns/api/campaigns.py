"""Campaign endpoints of API.md "Campaigns" plus the customer's wallet and auto-discounts. Thin: parse,
call one service or query, serialise. Field names are API.md's; business validation is the services'."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign, CampaignStatus, CampaignType, GenerationJob
from campaigns.queries import (
    auto_discounts,
    campaign_by_slug,
    campaign_list,
    code_export_lines,
    customer_by_source_id,
    customer_wallet,
    generation_job,
)
from campaigns.services.campaigns import create_campaign, pause_campaign, resume_campaign, update_campaign
from campaigns.services.codes import issue_code
from campaigns.services.generation import start_generation
from retention.actors import Actor
from retention.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from retention.models import Customer


def campaign_body(campaign: Campaign) -> dict:
    """A campaign as API.md's body spells it, with slug, status and counters."""
    discount = {"type": campaign.discount_type}
    discount.update({
        "percent": {"percent": campaign.percent, "max_amount": campaign.max_amount},
        "amount": {"amount": campaign.amount},
        "unit": {"sku": campaign.unit_sku, "quantity": campaign.unit_quantity or 1},
        "gift_card": {"balance": campaign.gift_card_balance},
    }.get(campaign.discount_type, {}))
    counted = campaign.counters  # row plus counter shards
    return {
        "slug": campaign.slug, "name": campaign.name, "type": campaign.type, "status": campaign.status,
        "public_code": campaign.public_code or None, "description": campaign.description, "tags": campaign.tags,
        "discount": discount,
        "code_config": {"length": campaign.code_length, "charset": campaign.code_charset,
                        "prefix": campaign.code_prefix, "postfix": campaign.code_postfix,
                        "pattern": campaign.code_pattern, "weak_codes_confirmed": campaign.weak_codes_confirmed},
        "max_uses_per_code": campaign.max_uses_per_code,
        "rules": {
            "currency": campaign.currency or None, "min_order_amount": campaign.min_order_amount,
            "countries": campaign.countries, "segments": [segment.slug for segment in campaign.segments.all()],
            "first_order_only": campaign.first_order_only, "assigned_only": campaign.assigned_only,
            "include_skus": campaign.include_skus, "exclude_skus": campaign.exclude_skus,
            "include_categories": campaign.include_categories, "exclude_categories": campaign.exclude_categories,
            "max_redemptions": campaign.max_redemptions,
            "max_redemptions_per_customer": campaign.max_redemptions_per_customer, "budget": campaign.budget,
        },
        "starts_at": _time(campaign.starts_at), "ends_at": _time(campaign.ends_at), "timezone": campaign.timezone,
        "code_valid_days": campaign.code_valid_days, "trigger": campaign.trigger,
        "segment": campaign.segment.slug if campaign.segment_id else None,
        "draft": campaign.is_draft, "paused": campaign.is_paused, "issuing_stopped": campaign.is_issuing_stopped,
        "codes_issued": campaign.codes_issued, "redemptions": counted.redemptions,
        "discount_total": counted.discount_total,
        "created_at": _time(campaign.created_at), "updated_at": _time(campaign.updated_at),
    }


def _time(value):
    return value.isoformat() if value else None


def _fresh(slug: str) -> dict:
    return campaign_body(campaign_by_slug(slug))


class DiscountInput(serializers.Serializer):
    type = serializers.CharField()
    percent = serializers.IntegerField(required=False, allow_null=True)
    max_amount = serializers.IntegerField(required=False, allow_null=True)
    amount = serializers.IntegerField(required=False, allow_null=True)
    sku = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.IntegerField(required=False, allow_null=True)
    balance = serializers.IntegerField(required=False, allow_null=True)


class CodeConfigInput(serializers.Serializer):
    length = serializers.IntegerField(required=False)
    charset = serializers.CharField(required=False)
    prefix = serializers.CharField(required=False, allow_blank=True)
    postfix = serializers.CharField(required=False, allow_blank=True)
    pattern = serializers.CharField(required=False, allow_blank=True)
    weak_codes_confirmed = serializers.BooleanField(required=False)
    max_uses_per_code = serializers.IntegerField(required=False, allow_null=True)


class RulesInput(serializers.Serializer):
    currency = serializers.CharField(required=False, allow_blank=True)
    min_order_amount = serializers.IntegerField(required=False, allow_null=True)
    countries = serializers.ListField(child=serializers.CharField(), required=False)
    segments = serializers.ListField(child=serializers.CharField(), required=False)
    first_order_only = serializers.BooleanField(required=False)
    assigned_only = serializers.BooleanField(required=False)
    include_skus = serializers.ListField(child=serializers.CharField(), required=False)
    exclude_skus = serializers.ListField(child=serializers.CharField(), required=False)
    include_categories = serializers.ListField(child=serializers.CharField(), required=False)
    exclude_categories = serializers.ListField(child=serializers.CharField(), required=False)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True)
    max_redemptions_per_customer = serializers.IntegerField(required=False, allow_null=True)
    budget = serializers.IntegerField(required=False, allow_null=True)


class CampaignInput(serializers.Serializer):
    """Shapes and types only; campaigns.services.campaigns checks the values and answers 400 per field."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100, required=False)
    type = serializers.ChoiceField(choices=CampaignType.choices, required=False)
    public_code = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    discount = DiscountInput()
    code_config = CodeConfigInput(required=False)
    max_uses_per_code = serializers.IntegerField(required=False, allow_null=True)
    weak_codes_confirmed = serializers.BooleanField(required=False)
    rules = RulesInput(required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    timezone = serializers.CharField(required=False)
    code_valid_days = serializers.IntegerField(required=False, allow_null=True)
    trigger = serializers.JSONField(required=False, allow_null=True)
    segment = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    draft = serializers.BooleanField(required=False)
    is_support = serializers.BooleanField(required=False)
    support_amount_options = serializers.ListField(child=serializers.IntegerField(), required=False)
    holdout_percent = serializers.IntegerField(required=False)
    split_buckets = serializers.IntegerField(required=False)
    split_bucket = serializers.IntegerField(required=False)
    landing_enabled = serializers.BooleanField(required=False)
    landing_title = serializers.CharField(required=False, allow_blank=True)
    landing_text = serializers.CharField(required=False, allow_blank=True)
    landing_image_url = serializers.URLField(required=False, allow_blank=True)
    landing_first_time_only = serializers.BooleanField(required=False)
    leak_guard_factor = serializers.IntegerField(required=False, allow_null=True)
    leak_guard_auto_pause = serializers.BooleanField(required=False)


CAMPAIGN_FIELDS = {
    "slug": serializers.CharField(), "name": serializers.CharField(), "type": serializers.CharField(),
    "status": serializers.ChoiceField(choices=CampaignStatus.choices), "public_code": serializers.CharField(),
    "discount": serializers.DictField(), "code_config": serializers.DictField(), "rules": serializers.DictField(),
    "starts_at": serializers.DateTimeField(), "ends_at": serializers.DateTimeField(),
    "code_valid_days": serializers.IntegerField(), "trigger": serializers.DictField(),
    "draft": serializers.BooleanField(), "codes_issued": serializers.IntegerField(),
    "redemptions": serializers.IntegerField(), "discount_total": serializers.IntegerField(),
}
CampaignOutput = inline_serializer("Campaign", CAMPAIGN_FIELDS)


def _parse(serializer_class, request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CampaignListView(APIView):
    @extend_schema(responses={200: inline_serializer("Campaign", CAMPAIGN_FIELDS, many=True)},
                   summary="List campaigns", parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=CampaignStatus.values),
        OpenApiParameter("type", OpenApiTypes.STR, enum=CampaignType.values)])
    def get(self, request):
        filters = {"status": request.query_params.get("status"), "type": request.query_params.get("type")}
        if filters["status"] and filters["status"] not in CampaignStatus.values:
            raise serializers.ValidationError({"status": [f"One of {', '.join(CampaignStatus.values)}."]})
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(campaign_list(filters), request, view=self)
        return paginator.get_paginated_response([campaign_body(campaign) for campaign in page])

    @extend_schema(request=CampaignInput, responses={201: CampaignOutput}, parameters=[IDEMPOTENCY_PARAMETER],
                   summary="Create a campaign")
    @idempotent
    def post(self, request):
        campaign = create_campaign(data=_parse(CampaignInput, request), actor=Actor.for_api_key(request.auth))
        return Response(_fresh(campaign.slug), status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    @extend_schema(responses={200: CampaignOutput}, summary="One campaign with its counters")
    def get(self, request, slug: str):
        return Response(campaign_body(campaign_by_slug(slug)))

    @extend_schema(request=CampaignInput, responses={200: CampaignOutput},
                   summary="Change any fields; draft: false launches a draft")
    def patch(self, request, slug: str):
        campaign = campaign_by_slug(slug)
        data = _parse(CampaignInput, request, partial=True)
        campaign = update_campaign(campaign=campaign, data=data, actor=Actor.for_api_key(request.auth))
        return Response(_fresh(campaign.slug))


class CampaignPauseView(APIView):
    @extend_schema(request=None, responses={200: CampaignOutput}, summary="Pause (a paused campaign stays so)")
    def post(self, request, slug: str):
        pause_campaign(campaign=campaign_by_slug(slug), actor=Actor.for_api_key(request.auth))
        return Response(_fresh(slug))


class CampaignResumeView(APIView):
    @extend_schema(request=None, responses={200: CampaignOutput}, summary="Resume a paused campaign")
    def post(self, request, slug: str):
        resume_campaign(campaign=campaign_by_slug(slug), actor=Actor.for_api_key(request.auth))
        return Response(_fresh(slug))


class IssueCodeInput(serializers.Serializer):
    customer = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)


IssuedCodeOutput = inline_serializer("IssuedCode", {
    "code": serializers.CharField(), "expires_at": serializers.DateTimeField(allow_null=True),
    "campaign": serializers.CharField(), "customer": serializers.CharField(allow_null=True),
    "issued_at": serializers.DateTimeField(), "max_uses": serializers.IntegerField(allow_null=True),
    "balance": serializers.IntegerField(allow_null=True),
})


class CampaignCodesView(APIView):
    @extend_schema(request=IssueCodeInput, responses={201: IssuedCodeOutput}, parameters=[IDEMPOTENCY_PARAMETER],
                   summary="Issue one new unique code, assigned to the customer when given")
    @idempotent
    def post(self, request, slug: str):
        data = _parse(IssueCodeInput, request)
        campaign = campaign_by_slug(slug)
        customer = None
        if data.get("customer"):
            customer = Customer.objects.filter(source_id=data["customer"]).first()
            if customer is None:
                raise serializers.ValidationError({"customer": [f"No customer {data['customer']}."]})
        code = issue_code(campaign=campaign, customer=customer, actor=Actor.for_api_key(request.auth))
        return Response({"code": code.code, "expires_at": _time(code.expires_at), "campaign": campaign.slug,
                         "customer": customer.source_id if customer else None, "issued_at": _time(code.issued_at),
                         "max_uses": code.max_uses, "balance": code.balance}, status=status.HTTP_201_CREATED)


class GenerationInput(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)


GenerationOutput = inline_serializer("Generation", {
    "id": serializers.IntegerField(), "status": serializers.CharField(), "generated": serializers.IntegerField(),
    "count": serializers.IntegerField(), "campaign": serializers.CharField(),
})


def generation_body(job: GenerationJob) -> dict:
    return {"id": job.pk, "status": job.status, "generated": job.generated, "count": job.count,
            "campaign": job.campaign.slug, "failure": job.failure or None, "created_at": _time(job.created_at),
            "finished_at": _time(job.finished_at)}


class CampaignGenerationsView(APIView):
    @extend_schema(request=GenerationInput, responses={202: GenerationOutput}, parameters=[IDEMPOTENCY_PARAMETER],
                   summary="Generate codes in bulk, in the background")
    @idempotent
    def post(self, request, slug: str):
        data = _parse(GenerationInput, request)
        job = start_generation(campaign=campaign_by_slug(slug), count=data["count"],
                               actor=Actor.for_api_key(request.auth))
        # With eager Celery (tests, `make run` without a worker) the job may be done already.
        return Response(generation_body(generation_job(job.pk)), status=status.HTTP_202_ACCEPTED)


class GenerationView(APIView):
    @extend_schema(responses={200: GenerationOutput}, summary="Progress of a bulk generation")
    def get(self, request, job_id: int):
        return Response(generation_body(generation_job(job_id)))


class CampaignCodesExportView(APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, summary="All codes of a campaign, streamed CSV")
    def get(self, request, slug: str):
        campaign = campaign_by_slug(slug)
        response = StreamingHttpResponse(code_export_lines(campaign), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-codes.csv"'
        return response


WALLET_FIELDS = {
    "code": serializers.CharField(), "campaign": serializers.CharField(), "discount": serializers.DictField(),
    "status": serializers.ChoiceField(choices=["active", "used", "expired", "disabled"]),
    "expires_at": serializers.DateTimeField(allow_null=True),
}


def _wallet_body(entry) -> dict:
    return {"code": entry.code, "campaign": entry.campaign, "discount": entry.discount, "status": entry.status,
            "issued_at": _time(entry.issued_at), "expires_at": _time(entry.expires_at)}


class CustomerCodesView(APIView):
    @extend_schema(responses={200: inline_serializer("WalletCode", WALLET_FIELDS, many=True)},
                   summary="The customer's codes (wallet)")
    def get(self, request, source_id: str):
        return Response([_wallet_body(entry) for entry in customer_wallet(customer_by_source_id(source_id))])


class CustomerAutoDiscountsView(APIView):
    @extend_schema(responses={200: inline_serializer("AutoDiscount", {"id": serializers.CharField(), **WALLET_FIELDS},
                                                     many=True)},
                   summary="Discounts to apply to the next order; pass `id` as `code` when redeeming")
    def get(self, request, source_id: str):
        return Response([{"id": entry.code, **_wallet_body(entry)}
                         for entry in auto_discounts(customer_by_source_id(source_id))])
