"""The evaluation job, run by ``manage.py worker`` through Django's tasks API."""

from __future__ import annotations

from django_tasks import task

from evaluations import runner


@task()
def run_evaluation(evaluation_id: int) -> str:
    return runner.execute(evaluation_id)
