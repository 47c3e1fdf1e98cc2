"""Row locks for read-modify-write, always taken in one order (code before campaign) so two writers
cannot deadlock. Call inside a transaction."""

from campaigns.models import Campaign, Code, GenerationJob


def lock_campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def lock_code(code_id: int) -> Code:
    return Code.objects.select_for_update().get(pk=code_id)


def lock_generation_job(job_id: int) -> GenerationJob:
    return GenerationJob.objects.select_for_update().select_related("campaign").get(pk=job_id)
