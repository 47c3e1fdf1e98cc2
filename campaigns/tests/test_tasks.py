import pytest

from campaigns.models import Code, GenerationJob
from campaigns.tasks import generate_codes_task
from campaigns.tests.factories import CampaignFactory
from retention.models import JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_generate_codes_task_run_twice_generates_once():
    # given
    job = GenerationJob.objects.create(campaign=CampaignFactory(), count=30)
    # when
    generate_codes_task.delay(job.pk)
    generate_codes_task.delay(job.pk)
    # then
    job.refresh_from_db()
    assert (job.status, job.generated, Code.objects.count()) == (JobStatus.DONE, 30, 30)


def test_generate_codes_task_for_an_unknown_job_does_nothing():
    generate_codes_task.delay(999_999)
    assert Code.objects.count() == 0
