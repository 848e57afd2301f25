"""Executing an evaluation, in the worker.

The evaluation is claimed first (queued -> running, or a running one whose worker went
silent past the lease), so each is run by one worker at a time. Rows then go through a
bounded pool: a thread calls the provider and judges the output (no database in the
threads); this thread records each row as it finishes, exactly once per index (a row a
previous worker already recorded is skipped, never run again). A refusal for the moment
(429, 5xx, no answer) is retried after its Retry-After, up to EVALUATION_RETRIES times;
each call is bounded by EVALUATION_ROW_TIMEOUT_SECONDS; a cancel stops rows not started.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from composition.services import Composed, compose
from evaluations import checks as checking
from evaluations.connecting import pick_model
from evaluations.models import Evaluation, RowResult
from prompts import templating
from prompts.models import Version
from registry_site.errors import DomainError
from runs import crypto, providers
from runs.models import Connection, ModelPrice
from runs.services import Outcome, RunPlan, attempt
from webhooks import events

log = logging.getLogger(__name__)
JUDGE_INSTRUCTIONS = (
    "You grade an output of a language model against a rubric. Answer with JSON only: "
    '{"verdict": "pass" or "fail", "reason": "one sentence"}.'
)


@dataclass
class Row:
    index: int
    variables: dict
    expected: str | None
    plan: RunPlan | None = None
    error: str = ""  # could not even be rendered


@dataclass
class RowDone:
    index: int
    output: str = ""
    error: str = ""
    verdicts: list[dict] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int = 0
    attempts: int = 1


# ------------------------------------------------------------------ claiming


def claim(evaluation_id: int) -> Evaluation | None:
    """Take the evaluation for this worker, or None when another worker has it (or it
    is finished): a queued one, or a running one whose heartbeat outlived the lease."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EVALUATION_LEASE_SECONDS)
    taken = Evaluation.objects.filter(
        Q(state=Evaluation.State.QUEUED)
        | Q(state=Evaluation.State.RUNNING, heartbeat_at__lt=stale),
        pk=evaluation_id,
        cancel_requested=False,
    ).update(state=Evaluation.State.RUNNING, heartbeat_at=now, started_at=now)
    if not taken:
        return None
    return Evaluation.objects.select_related(
        "prompt__team", "version", "revision__dataset", "connection"
    ).get(pk=evaluation_id)


def stale_evaluations(grace: timedelta = timedelta(0)) -> list[int]:
    """Running evaluations whose worker stopped moving them on: another one takes over."""
    stale = timezone.now() - timedelta(seconds=settings.EVALUATION_LEASE_SECONDS) - grace
    return list(
        Evaluation.objects.filter(
            state=Evaluation.State.RUNNING, heartbeat_at__lt=stale
        ).values_list("pk", flat=True)[:50]
    )


# ------------------------------------------------------------------ preparing


def open_call(connection: Connection, model: str, messages: list, config: dict) -> providers.Call:
    headers = {}
    if connection.headers_encrypted:
        headers = json.loads(crypto.decrypt(connection.headers_encrypted))
    return providers.Call(
        base_url=connection.base_url,
        api_key=crypto.decrypt(connection.api_key_encrypted),
        model=model,
        messages=messages,
        parameters=providers.parameters(connection.provider, config),
        headers=headers,
    )


def _plan(
    evaluation: Evaluation, connection: Connection, model: str, messages: list, config: dict
) -> RunPlan:
    seconds = float(settings.EVALUATION_ROW_TIMEOUT_SECONDS)
    return RunPlan(
        actor=None,
        prompt=evaluation.prompt,
        version=evaluation.version,
        environment=evaluation.environment,
        connection=connection,
        variables={},
        call=open_call(connection, model, messages, config),
        timeout=seconds,
        seconds=seconds,
    )


def _render(composed: Composed | DomainError, given: dict) -> list[dict]:
    if isinstance(composed, DomainError):
        raise composed  # every row fails with it: the evaluation says why
    values = templating.resolve_values(composed.variables, given)
    if composed.kind == Version.Kind.CHAT:
        return templating.render_messages(composed.messages, values)
    return [{"role": "user", "content": templating.render_text(composed.template, values)}]


def _rows(evaluation: Evaluation, connection: Connection, skip: set[int]) -> list[Row]:
    version = evaluation.version
    config = version.config or {}
    # What the version includes, composed once for every row (as resolved in the
    # evaluation's environment; none: the latest of each snippet).
    try:
        composed: Composed | DomainError = compose(version, evaluation.environment or None)
    except DomainError as exc:
        composed = exc
    rows = []
    for index, row in enumerate(evaluation.revision.rows):
        if index in skip:
            continue
        item = Row(index, row.get("variables") or {}, row.get("expected"))
        try:
            messages = _render(composed, item.variables)
        except DomainError as exc:
            item.error = f"{exc.code}: {exc.message}"
        else:
            item.plan = _plan(evaluation, connection, evaluation.model, messages, config)
        rows.append(item)
    return rows


def _judges(evaluation: Evaluation, connection: Connection) -> dict[int, tuple[Connection, str]]:
    """For each judge check (by position): the connection and model it asks."""
    found = {}
    for position, check in enumerate(evaluation.revision.checks):
        if check["type"] != "judge":
            continue
        judge_connection = connection
        if check.get("connection"):
            judge_connection = Connection.objects.get(
                team_id=evaluation.prompt.team_id, name=check["connection"]
            )
        model = pick_model(judge_connection, check.get("model") or evaluation.model, {})
        found[position] = (judge_connection, model)
    return found


# ------------------------------------------------------------------ calling (threads)


def _drive(plan: RunPlan) -> Outcome:
    steps = attempt(plan, stream=False)
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


def _retryable(outcome: Outcome) -> bool:
    status = outcome.error_details.get("status")
    return outcome.error_code == "provider_error" and (
        status is None or status == 429 or status >= 500
    )


def call_with_retries(plan: RunPlan, stop: threading.Event) -> tuple[Outcome, int]:
    """The outcome and how many calls it took; only the last one counts."""
    retries = settings.EVALUATION_RETRIES
    for number in range(1, retries + 2):
        outcome = _drive(plan)
        if not outcome.error_code or not _retryable(outcome) or number > retries or stop.is_set():
            return outcome, number
        after = outcome.error_details.get("retry_after")
        pause = float(after) if isinstance(after, (int, float)) else 0.5 * 2 ** (number - 1)
        stop.wait(min(max(pause, 0.0), settings.EVALUATION_MAX_RETRY_WAIT_SECONDS))
    raise AssertionError("unreachable")


def _judge_reply(text: str) -> tuple[bool, str] | None:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match.group(0))
        except ValueError:
            data = None
        if isinstance(data, dict) and str(data.get("verdict", "")).lower() in ("pass", "fail"):
            return data["verdict"].lower() == "pass", str(data.get("reason") or "")
    word = text.strip().split(maxsplit=1)
    if word and word[0].strip(":.,").lower() in ("pass", "fail"):
        return word[0].strip(":.,").lower() == "pass", word[1] if len(word) > 1 else ""
    return None


def _judge_for(evaluation: Evaluation, judges: dict, stop: threading.Event) -> checking.Judge:
    by_rubric = {
        check["rubric"]: judges[position]
        for position, check in enumerate(evaluation.revision.checks)
        if position in judges
    }

    def judge(check: dict, output: str, row: dict) -> tuple[bool, str]:
        connection, model = by_rubric[check["rubric"]]
        question = (
            f"Rubric:\n{check['rubric']}\n\nInput variables:\n"
            f"{json.dumps(row.get('variables') or {}, ensure_ascii=False)}\n\n"
            + (f"Expected output:\n{row['expected']}\n\n" if row.get("expected") else "")
            + f"Output to grade:\n{output}"
        )
        messages = [
            {"role": "system", "content": JUDGE_INSTRUCTIONS},
            {"role": "user", "content": question},
        ]
        plan = _plan(evaluation, connection, model, messages, {})
        outcome, _ = call_with_retries(plan, stop)
        if outcome.error_code:
            return False, f"the judge could not answer: {outcome.error_message}"
        reply = _judge_reply(outcome.output)
        if reply is None:
            return False, "the judge did not answer pass or fail"
        return reply

    return judge


def run_row(
    row: Row, checks: list[dict], judge: checking.Judge, stop: threading.Event
) -> RowDone | None:
    """One row: None when cancelled before it started."""
    if stop.is_set():
        return None
    if row.plan is None:
        return RowDone(row.index, error=row.error, attempts=0)
    outcome, calls = call_with_retries(row.plan, stop)
    done = RowDone(row.index, output=outcome.output, latency_ms=outcome.latency_ms, attempts=calls)
    if outcome.completion is not None:
        done.input_tokens = outcome.completion.input_tokens
        done.output_tokens = outcome.completion.output_tokens
    if outcome.error_code:
        done.error = f"{outcome.error_code}: {outcome.error_message}"
        return done
    facts = {"variables": row.variables, "expected": row.expected}
    done.verdicts = checking.verdicts(checks, outcome.output, facts, judge)
    return done


# ------------------------------------------------------------------ recording


def _price(model: str) -> ModelPrice | None:
    return ModelPrice.objects.filter(model=model).first()


def _cost(price: ModelPrice | None, done: RowDone) -> Decimal | None:
    if price is None or done.input_tokens is None or done.output_tokens is None:
        return None
    spent = (
        done.input_tokens * price.input_per_million + done.output_tokens * price.output_per_million
    )
    return (spent / Decimal(1_000_000)).quantize(Decimal("0.00000001"))


def record_row(evaluation: Evaluation, row: Row, done: RowDone, price: ModelPrice | None) -> None:
    passed = not done.error and all(v["passed"] for v in done.verdicts)
    try:
        with transaction.atomic():
            RowResult.objects.create(
                evaluation=evaluation,
                index=done.index,
                variables=row.variables,
                expected=row.expected,
                output=done.output,
                error=done.error[:2000],
                checks=done.verdicts,
                passed=passed,
                input_tokens=done.input_tokens,
                output_tokens=done.output_tokens,
                latency_ms=done.latency_ms,
                cost=_cost(price, done),
                attempts=done.attempts,
            )
            outcome = "errors" if done.error else "passed" if passed else "failed"
            Evaluation.objects.filter(pk=evaluation.pk).update(
                **{outcome: F(outcome) + 1}, heartbeat_at=timezone.now()
            )
    except IntegrityError:
        log.info("evaluation %s row %s was recorded already", evaluation.pk, done.index)


def _cancel_requested(evaluation: Evaluation) -> bool:
    return Evaluation.objects.filter(pk=evaluation.pk, cancel_requested=True).exists()


def _run_rows(
    evaluation: Evaluation, rows: list[Row], judge: checking.Judge, stop: threading.Event
) -> None:
    price = _price(evaluation.model)
    checks = evaluation.revision.checks
    by_index = {row.index: row for row in rows}
    width = max(1, min(settings.EVALUATION_ROWS_AT_ONCE, len(rows)))
    pending = iter(rows)
    running: set[Future] = set()
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="evaluation") as pool:
        # Only `width` rows are handed to the pool at a time: a cancel stops the rest,
        # and a large dataset holds no more than that in flight.
        for row in pending:
            running.add(pool.submit(run_row, row, checks, judge, stop))
            if len(running) >= width:
                break
        while running:
            finished, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                done = future.result()
                if done is not None:
                    record_row(evaluation, by_index[done.index], done, price)
            if _cancel_requested(evaluation):
                stop.set()
            for _ in finished:
                row = next(pending, None)
                if row is not None:
                    running.add(pool.submit(run_row, row, checks, judge, stop))


def _finish(evaluation: Evaluation, state: str, message: str = "") -> None:
    results = RowResult.objects.filter(evaluation=evaluation)
    totals = results.aggregate(
        input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"), cost=Sum("cost")
    )
    with transaction.atomic():
        Evaluation.objects.filter(pk=evaluation.pk).update(
            state=state,
            error_message=message,
            passed=results.filter(passed=True).count(),
            failed=results.filter(passed=False, error="").count(),
            errors=results.filter(error__gt="").count(),
            input_tokens=totals["input_tokens"] or 0,
            output_tokens=totals["output_tokens"] or 0,
            cost=totals["cost"],
            finished_at=timezone.now(),
        )
        evaluation.refresh_from_db()
        events.emit(
            events.EVALUATION_COMPLETED,
            team=evaluation.prompt.team,
            actor=evaluation.created_by,
            prompt=evaluation.prompt,
            version=evaluation.version,
            data={
                "evaluation": evaluation.pk,
                "state": evaluation.state,
                "dataset": evaluation.revision.dataset.name,
                "dataset_revision": evaluation.revision.number,
                "passed": evaluation.passed,
                "failed": evaluation.failed,
                "errors": evaluation.errors,
                "pass_rate": evaluation.pass_rate,
            },
        )


def execute(evaluation_id: int) -> str:
    """Run the evaluation to its end; the state it ended in (or "skipped")."""
    evaluation = claim(evaluation_id)
    if evaluation is None:
        return "skipped"
    connection = evaluation.connection
    if connection is None:
        _finish(evaluation, Evaluation.State.FAILED, "The connection was deleted.")
        return Evaluation.State.FAILED
    try:
        done = set(RowResult.objects.filter(evaluation=evaluation).values_list("index", flat=True))
        rows = _rows(evaluation, connection, done)
        stop = threading.Event()
        judge = _judge_for(evaluation, _judges(evaluation, connection), stop)
    except (DomainError, Connection.DoesNotExist) as exc:
        _finish(evaluation, Evaluation.State.FAILED, f"The evaluation cannot run: {exc}")
        return Evaluation.State.FAILED
    _run_rows(evaluation, rows, judge, stop)
    evaluation.refresh_from_db()
    if stop.is_set() or evaluation.cancel_requested:
        state = Evaluation.State.CANCELLED
    elif evaluation.total and evaluation.errors == evaluation.total:
        state = Evaluation.State.FAILED
    else:
        state = Evaluation.State.SUCCEEDED
    _finish(evaluation, state)
    return state
