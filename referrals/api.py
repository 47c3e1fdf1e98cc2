"""API.md "Referrals": parse, call one service or query, serialise."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from referrals import queries
from referrals.services.codes import get_or_create_referral_code
from referrals.services.programs import create_program, program_data, update_program
from referrals.services.referrals import REGISTER_BATCH, register_referral, register_referrals
from retention.actors import Actor
from retention.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from retention.errors import NotFound
from retention.models import Customer
from retention.queries import customer_by_source_id

ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 422: OpenApiTypes.OBJECT}
PROGRAM_PARAMETER = OpenApiParameter("program", OpenApiTypes.INT, required=False,
                                     description="A referral program id; default: the default program.")


def get_customer(source_id: str):
    customer = customer_by_source_id(source_id)
    if customer is None:
        raise NotFound(f"No customer with source_id {source_id!r}.", fields={"customer": ["Unknown customer."]})
    return customer


class ReferralInput(serializers.Serializer):
    referral_code = serializers.CharField(max_length=40)
    customer = serializers.CharField(max_length=255, help_text="The friend's source_id.")
    ip_address = serializers.IPAddressField(required=False, allow_null=True)
    device_id = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ReferralConversionInput(serializers.Serializer):
    event = serializers.CharField(max_length=100, required=False)
    min_order_amount = serializers.IntegerField(min_value=0, required=False)
    within_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class ReferralLimitsInput(serializers.Serializer):
    max_rewards_per_referrer_per_month = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class ReferralProgramInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    link_template = serializers.CharField(max_length=500, required=False)
    friend_campaign = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    conversion = ReferralConversionInput(required=False)
    reward_hold_days = serializers.IntegerField(min_value=0, required=False)
    return_window_days = serializers.IntegerField(min_value=0, required=False)
    tiers = serializers.ListField(child=serializers.DictField(), required=False)
    loyalty_program = serializers.IntegerField(required=False, allow_null=True)
    limits = ReferralLimitsInput(required=False)
    segment = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    budget = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False)
    point_value = serializers.IntegerField(min_value=0, required=False)
    enabled = serializers.BooleanField(required=False)
    default = serializers.BooleanField(required=False)


class CustomerReferralView(APIView):
    @extend_schema(parameters=[PROGRAM_PARAMETER], responses={200: OpenApiTypes.OBJECT, **ERRORS},
                   summary="A customer's referral code and link (created on first ask), friends and rewards")
    def get(self, request, source_id: str):
        customer = get_customer(source_id)
        program = queries.program_for(request.query_params.get("program"))
        code = get_or_create_referral_code(program=program, customer=customer, actor=Actor.for_api_key(request.auth))
        summary = queries.referrer_summary(program, customer)
        return Response({"program": program.pk, "code": code.code, "link": program.link_for(code.code),
                         "invited": summary.invited, "converted": summary.converted,
                         "rewards": [queries.reward_data(reward) for reward in summary.rewards]})


class ReferralCreateView(APIView):
    @extend_schema(request=ReferralInput, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Register a referral (422 unknown_code, self_referral, not_new_customer, already_referred, "
                           "program_inactive, limit_reached)")
    @idempotent
    def post(self, request):
        serializer = ReferralInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        referral = register_referral(code=data["referral_code"], friend=get_customer(data["customer"]),
                                     actor=Actor.for_api_key(request.auth), ip_address=data.get("ip_address"),
                                     device_id=data.get("device_id", ""))
        return Response({"id": referral.pk, "status": referral.status}, status=status.HTTP_201_CREATED)


class BulkReferralInput(serializers.Serializer):
    referrals = ReferralInput(many=True, allow_empty=False, max_length=REGISTER_BATCH)


def _error(error) -> dict:
    return {"error": {"code": str(error.code), "message": error.message, "fields": error.fields}}


class BulkReferralCreateView(APIView):
    @extend_schema(request=BulkReferralInput, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Register many referrals at once (an extension of API.md): one result per item, in order, "
                           "each {id, status} or {error} with the reason code of POST /referrals")
    @idempotent
    def post(self, request):
        serializer = BulkReferralInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["referrals"]
        customers = {customer.source_id: customer for customer in Customer.objects.filter(
            source_id__in={item["customer"] for item in items})}
        entries, positions, results = [], [], [None] * len(items)
        for index, item in enumerate(items):
            friend = customers.get(item["customer"])
            if friend is None:
                results[index] = _error(NotFound(f"No customer with source_id {item['customer']!r}.",
                                                 fields={"customer": ["Unknown customer."]}))
                continue
            entries.append({"code": item["referral_code"], "friend": friend, "ip_address": item.get("ip_address"),
                            "device_id": item.get("device_id", "")})
            positions.append(index)
        registered = register_referrals(entries=entries, actor=Actor.for_api_key(request.auth))
        for index, outcome in zip(positions, registered, strict=True):
            results[index] = (_error(outcome) if isinstance(outcome, Exception)
                              else {"id": outcome.pk, "status": outcome.status})
        return Response({"results": results}, status=status.HTTP_200_OK)


def _program_or_404(program_id: int):
    program = queries.programs_with_tiers().filter(pk=program_id).first()
    if program is None:
        raise NotFound(f"No referral program {program_id}.")
    return program


class ProgramListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT}, summary="Referral programs",
                   operation_id="referral_programs_list")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queries.programs_with_tiers().order_by("pk"), request, view=self)
        return paginator.get_paginated_response([program_data(program) for program in page])

    @extend_schema(request=ReferralProgramInput, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Create a referral program")
    @idempotent
    def post(self, request):
        serializer = ReferralProgramInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = create_program(data=serializer.validated_data, actor=Actor.for_api_key(request.auth))
        return Response(program_data(_program_or_404(program.pk)), status=status.HTTP_201_CREATED)


class ProgramDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, summary="A referral program")
    def get(self, request, program_id: int):
        return Response(program_data(_program_or_404(program_id)))

    @extend_schema(request=ReferralProgramInput(partial=True), responses={200: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Change a referral program (tiers given replace the program's)")
    def patch(self, request, program_id: int):
        program = _program_or_404(program_id)
        serializer = ReferralProgramInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        update_program(program=program, data=serializer.validated_data, actor=Actor.for_api_key(request.auth))
        return Response(program_data(_program_or_404(program_id)))
