"""API.md "Loyalty": parse, call one service or query, serialise."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.api import serializers as s
from loyalty.models import AdjustmentRequest, Reward
from loyalty.queries import account_of, ledger_history, program_detail, program_list, program_or_404, summary_for
from loyalty.services.adjustments import adjust_points
from loyalty.services.programs import create_program, update_program
from loyalty.services.rewards import redeem_reward
from retention.actors import Actor
from retention.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from retention.errors import NotFound
from retention.models import Customer

ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}
PROGRAM_PARAMETER = OpenApiParameter("program", OpenApiTypes.INT, required=False,
                                     description="A program id; default: the default program.")


def get_customer(source_id: str):
    # Without retention's tag prefetch: loyalty never reads tags, and the summary is on the shop's hot path.
    customer = Customer.objects.filter(source_id=source_id).first()
    if customer is None:
        raise NotFound(f"No customer with source_id {source_id!r}.")
    return customer


class CustomerLoyaltyView(APIView):
    @extend_schema(parameters=[PROGRAM_PARAMETER], responses={200: OpenApiTypes.OBJECT, **ERRORS},
                   summary="A customer's points, tier, expiring points and rewards")
    def get(self, request, source_id: str):
        # One hand-written read for customer, program and account: the shop's hot path.
        return Response(summary_for(source_id, request.query_params.get("program")))


class CustomerLoyaltyHistoryView(APIView):
    @extend_schema(parameters=[PROGRAM_PARAMETER], responses={200: s.LedgerEntryOutput(many=True), **ERRORS},
                   summary="A customer's ledger entries, newest first (paginated)")
    def get(self, request, source_id: str):
        customer = get_customer(source_id)
        account = account_of(customer, program_or_404(request.query_params.get("program")))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(ledger_history(account), request, view=self)
        return paginator.get_paginated_response(s.LedgerEntryOutput(page, many=True).data)


class RedeemRewardView(APIView):
    @extend_schema(request=None, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: s.RewardRedemptionOutput, 409: OpenApiTypes.OBJECT, 422: OpenApiTypes.OBJECT,
                              **ERRORS},
                   summary="Spend points on a reward (422 insufficient_points / reward_unavailable)")
    @idempotent
    def post(self, request, source_id: str, reward_id: int):
        customer = get_customer(source_id)
        reward = Reward.objects.filter(pk=reward_id).first()
        if reward is None:
            raise NotFound(f"No reward {reward_id}.")
        redemption = redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.for_api_key(request.auth))
        return Response(s.RewardRedemptionOutput(redemption).data, status=status.HTTP_201_CREATED)


class AdjustmentView(APIView):
    @extend_schema(request=s.AdjustmentInput, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: s.LedgerEntryOutput, 409: OpenApiTypes.OBJECT, 422: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Add or remove points with a reason (above the approval threshold: 422 approval_required)")
    @idempotent
    def post(self, request, source_id: str):
        customer = get_customer(source_id)
        serializer = s.AdjustmentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = account_of(customer, program_or_404(data.get("program")))
        result = adjust_points(account=account, points=data["points"], reason=data["reason"],
                               actor=Actor.for_api_key(request.auth))
        assert not isinstance(result, AdjustmentRequest)  # an API key cannot request: adjust_points refuses
        return Response(s.LedgerEntryOutput(result).data, status=status.HTTP_201_CREATED)


class ProgramListView(APIView):
    @extend_schema(responses={200: s.ProgramOutput(many=True), 401: OpenApiTypes.OBJECT}, summary="Programs")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(program_list(), request, view=self)
        return paginator.get_paginated_response(s.ProgramOutput(page, many=True).data)

    @extend_schema(request=s.ProgramInput, parameters=[IDEMPOTENCY_PARAMETER],
                   responses={201: s.ProgramOutput, 409: OpenApiTypes.OBJECT, **ERRORS}, summary="Create a program")
    @idempotent
    def post(self, request):
        serializer = s.ProgramInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = create_program(data=serializer.to_service_data(), actor=Actor.for_api_key(request.auth))
        return Response(s.ProgramOutput(program_detail(program.pk)).data, status=status.HTTP_201_CREATED)


class ProgramDetailView(APIView):
    @extend_schema(responses={200: s.ProgramOutput, **ERRORS}, summary="A program")
    def get(self, request, program_id: int):
        return Response(s.ProgramOutput(program_detail(program_id)).data)

    @extend_schema(request=s.ProgramInput(partial=True), responses={200: s.ProgramOutput, **ERRORS},
                   summary="Change a program (nested lists given replace the program's)")
    def patch(self, request, program_id: int):
        program = program_detail(program_id)
        serializer = s.ProgramInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        update_program(program=program, data=serializer.to_service_data(), actor=Actor.for_api_key(request.auth))
        return Response(s.ProgramOutput(program_detail(program_id)).data)
