"""API.md "Triggers": preview who a trigger reaches on a date, run it now, list its runs. Thin."""

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.calendar import Trigger
from campaigns.models import CampaignRun, RunKind
from campaigns.queries import campaign_by_slug
from campaigns.services.calendar import preview_calendar_campaign, run_calendar_campaign
from retention.errors import DomainError

RUN_FIELDS = {
    "id": serializers.IntegerField(), "kind": serializers.CharField(), "status": serializers.CharField(),
    "for_date": serializers.DateField(), "started_at": serializers.DateTimeField(),
    "finished_at": serializers.DateTimeField(), "issued": serializers.IntegerField(),
    "skipped": serializers.IntegerField(), "skip_reasons": serializers.DictField(child=serializers.IntegerField()),
}
RunOutput = inline_serializer("CampaignRun", RUN_FIELDS)
PREVIEW_LIMIT = 100


def run_body(run: CampaignRun) -> dict:
    return {
        "id": run.pk, "kind": run.kind, "status": run.status,
        "for_date": run.for_date.isoformat() if run.for_date else None,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "issued": run.issued, "skipped": run.skipped, "skip_reasons": run.skip_reasons,
    }


def _scheduled_campaign(slug: str):
    campaign = campaign_by_slug(slug)
    trigger = Trigger.of(campaign)
    if trigger is None or not trigger.is_scheduled:
        raise DomainError("This campaign has no calendar trigger (birthday, anniversary, win_back).",
                          code="no_calendar_trigger")
    return campaign


class CampaignPreviewView(APIView):
    @extend_schema(parameters=[OpenApiParameter("date", OpenApiTypes.DATE, description="default: today")],
                   responses={200: inline_serializer("TriggerPreview", {
                       "date": serializers.DateField(), "count": serializers.IntegerField(),
                       "customers": serializers.ListField(child=serializers.CharField()),
                       "skipped": serializers.IntegerField(),
                       "skip_reasons": serializers.DictField(child=serializers.IntegerField())})},
                   summary="Who the trigger would really reach that day (after consent, caps and rules)")
    def get(self, request, slug: str):
        campaign = _scheduled_campaign(slug)
        text = request.query_params.get("date")
        try:
            on_date = date.fromisoformat(text) if text else None
        except ValueError:
            raise serializers.ValidationError({"date": ["A date YYYY-MM-DD."]}) from None
        preview = preview_calendar_campaign(campaign, on_date, limit=PREVIEW_LIMIT)
        return Response({
            "date": on_date.isoformat() if on_date else None, "count": preview.receiving,
            "customers": [customer.source_id for customer in preview.recipients],
            "skipped": preview.skipped, "skip_reasons": preview.skip_reasons,
        })


class CampaignRunsView(APIView):
    @extend_schema(responses={200: inline_serializer("CampaignRun", RUN_FIELDS, many=True)},
                   summary="Past runs with issued, skipped and the reasons")
    def get(self, request, slug: str):
        campaign = campaign_by_slug(slug)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(CampaignRun.objects.filter(campaign=campaign), request, view=self)
        return paginator.get_paginated_response([run_body(run) for run in page])

    @extend_schema(request=None, responses={202: RunOutput},
                   summary="Run now for everyone whose occasion is today in their own time zone")
    def post(self, request, slug: str):
        campaign = _scheduled_campaign(slug)
        run = run_calendar_campaign(campaign_id=campaign.pk, kind=RunKind.MANUAL)
        if run is None:
            raise DomainError(f"The campaign is {campaign.status}: it issues no codes now.",
                              code=f"campaign_{campaign.status}")
        return Response(run_body(run), status=status.HTTP_202_ACCEPTED)
