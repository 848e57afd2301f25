"""Executing an evaluation, in the worker.

Any worker given the evaluation's job joins it; each row is claimed under a lease
before it runs (evaluations/claims.py), so two workers never run the same row, and a
killed worker's rows are taken over once their lease ends. Rows go through a bounded
pool: a thread calls the provider and judges the output (no database in the threads);
this thread claims rows, records each one as it finishes (only while it holds the
claim) and renews its leases. A refusal for the moment (429, 5xx, no answer) is
retried after its Retry-After, up to EVALUATION_RETRIES times; each call is bounded by
EVALUATION_ROW_TIMEOUT_SECONDS; a cancel stops rows not started. A judge that cannot
answer, or answers neither pass nor fail, makes its row an error (``judge_error``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from composition.services import Composed, compose
from evaluations import checks as checking
from evaluations import claims
from evaluations.connecting import pick_model
from evaluations.models import Evaluation, RowResult
from prompts import templating
from prompts.models import Version
from registry_site.errors import DomainError
from runs.models import Connection, ModelPrice
from runs.services import Outcome, RunPlan, attempt, open_call
from webhooks import events

log = logging.getLogger(__name__)
JUDGE_INSTRUCTIONS = (
    "You grade an output of a language model against a rubric. Answer with JSON only: "
    '{"verdict": "pass" or "fail", "reason": "one sentence"}.'
)


class NoVerdict(Exception):
    """A judge gave no verdict: its row is an error, not a failure of the output."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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


# ------------------------------------------------------------------ preparing


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
            raise NoVerdict(f"The judge could not answer: {outcome.error_message}")
        reply = _judge_reply(outcome.output)
        if reply is None:
            said = " ".join(outcome.output.split())
            said = said if len(said) <= 80 else said[:77] + "..."
            raise NoVerdict(f"The judge answered neither pass nor fail: {said!r}")
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
    undecided: list[str] = []

    def judging(check: dict, output: str, facts: dict) -> tuple[bool, str]:
        try:
            return judge(check, output, facts)
        except NoVerdict as exc:
            undecided.append(exc.reason)
            return False, exc.reason

    done.verdicts = checking.verdicts(checks, outcome.output, facts, judging)
    if undecided:
        done.error = "judge_error: " + " ".join(undecided)
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


def record_row(
    evaluation: Evaluation, row: Row, done: RowDone, price: ModelPrice | None, worker: str
) -> None:
    """Write the row's result if this worker still holds its claim."""
    passed = not done.error and all(v["passed"] for v in done.verdicts)
    try:
        with transaction.atomic():
            if not claims.mark_recorded(evaluation.pk, done.index, worker):
                log.info("evaluation %s row %s was taken over", evaluation.pk, done.index)
                return
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


class _Rows:
    """This worker's share of the rows, claimed a pool's width at a time; a row another
    worker holds is tried again once its lease may have ended."""

    def __init__(self, evaluation: Evaluation, rows: list[Row], worker: str, width: int):
        self.evaluation, self.worker, self.width = evaluation, worker, width
        self.waiting = deque(rows)
        self.claimed: deque[Row] = deque()
        self.elsewhere: list[Row] = []

    def next_claimed(self) -> Row | None:
        while not self.claimed and self.waiting:
            batch = [self.waiting.popleft() for _ in range(min(self.width, len(self.waiting)))]
            taken = set(
                claims.claim_rows(self.evaluation.pk, [r.index for r in batch], self.worker)
            )
            self.claimed.extend(r for r in batch if r.index in taken)
            self.elsewhere.extend(r for r in batch if r.index not in taken)
        return self.claimed.popleft() if self.claimed else None

    def look_again(self) -> bool:
        """Rows held elsewhere and still not recorded go back in line; whether any did."""
        recorded = set(
            RowResult.objects.filter(
                evaluation=self.evaluation, index__in=[r.index for r in self.elsewhere]
            ).values_list("index", flat=True)
        )
        self.waiting.extend(r for r in self.elsewhere if r.index not in recorded)
        self.elsewhere = []
        return bool(self.waiting)


def _outcome_of(future: Future, row: Row) -> RowDone | None:
    """The row's result; a fault of this program on one row makes that row an error
    instead of stopping the evaluation (which would be taken up and fail again)."""
    try:
        return future.result()
    except Exception as exc:
        log.exception("evaluation row %s failed", row.index)
        return RowDone(row.index, error=f"worker_error: {type(exc).__name__}: {exc}"[:500])


def _run_rows(
    evaluation: Evaluation,
    rows: list[Row],
    judge: checking.Judge,
    stop: threading.Event,
    worker: str,
) -> None:
    price = _price(evaluation.model)
    checks = evaluation.revision.checks
    width = max(1, min(settings.EVALUATION_ROWS_AT_ONCE, len(rows)))
    share = _Rows(evaluation, rows, worker, width)
    running: dict[Future, Row] = {}
    renewed = time.monotonic()
    # Only `width` rows are handed to the pool at a time: a cancel stops the rest, and
    # a large dataset holds no more than that in flight.
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="evaluation") as pool:
        while True:
            while len(running) < width and not stop.is_set():
                row = share.next_claimed()
                if row is None:
                    break
                running[pool.submit(run_row, row, checks, judge, stop)] = row
            if running:
                finished, _ = wait(running, timeout=claims.tick(), return_when=FIRST_COMPLETED)
                for future in finished:
                    row = running.pop(future)
                    done = _outcome_of(future, row)
                    if done is not None:
                        record_row(evaluation, row, done, price, worker)
            elif stop.is_set() or not share.elsewhere:
                return
            else:  # what is left is another worker's: wait for it, or for its lease to end
                stop.wait(claims.tick())
                share.look_again()
            if time.monotonic() - renewed >= claims.tick():
                renewed = time.monotonic()
                if claims.renew(evaluation.pk, worker):
                    stop.set()


def _finish(evaluation: Evaluation, state: str, message: str = "") -> bool:
    """End the evaluation (once: False when another worker ended it first)."""
    results = RowResult.objects.filter(evaluation=evaluation)
    totals = results.aggregate(
        input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"), cost=Sum("cost")
    )
    with transaction.atomic():
        ended = Evaluation.objects.filter(pk=evaluation.pk, state=Evaluation.State.RUNNING).update(
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
        if not ended:
            return False
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
    return True


def _conclude(evaluation: Evaluation, stop: threading.Event) -> str:
    """The state this worker leaves the evaluation in, once its share of rows is done."""
    evaluation.refresh_from_db()
    if evaluation.finished:
        return evaluation.state
    if stop.is_set() or evaluation.cancel_requested:
        # Rows another worker still runs are recorded (or their lease ends) first.
        while claims.anyone_running(evaluation.pk):
            time.sleep(claims.tick())
        state = Evaluation.State.CANCELLED
    else:
        if RowResult.objects.filter(evaluation=evaluation).count() < evaluation.total:
            return evaluation.state  # another worker records the rest and ends it
        errors = RowResult.objects.filter(evaluation=evaluation, error__gt="").count()
        failed = evaluation.total and errors == evaluation.total
        state = Evaluation.State.FAILED if failed else Evaluation.State.SUCCEEDED
    _finish(evaluation, state)
    return evaluation.state


def execute(evaluation_id: int) -> str:
    """Run the evaluation's rows that no live worker holds; the state it is left in, or
    "skipped" when it was already finished."""
    if not claims.join(evaluation_id):
        return "skipped"
    evaluation = Evaluation.objects.select_related(
        "prompt__team", "version", "revision__dataset", "connection"
    ).get(pk=evaluation_id)
    connection = evaluation.connection
    if connection is None:
        _finish(evaluation, Evaluation.State.FAILED, "The connection was deleted.")
        return evaluation.state
    try:
        done = set(RowResult.objects.filter(evaluation=evaluation).values_list("index", flat=True))
        rows = _rows(evaluation, connection, done)
        stop = threading.Event()
        judge = _judge_for(evaluation, _judges(evaluation, connection), stop)
    except (DomainError, Connection.DoesNotExist) as exc:
        _finish(evaluation, Evaluation.State.FAILED, f"The evaluation cannot run: {exc}")
        return evaluation.state
    if evaluation.cancel_requested:  # asked while its last worker was gone
        stop.set()
    worker = uuid.uuid4().hex
    try:
        _run_rows(evaluation, rows, judge, stop, worker)
    finally:
        claims.release(evaluation.pk, worker)
    return _conclude(evaluation, stop)
