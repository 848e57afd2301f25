"""Many runs at once (side by side): checked first, then called through a bounded pool,
at most RUNS_AT_ONCE_PER_CONNECTION per connection, each recorded in order."""

from __future__ import annotations

import pytest

from prompts import samples
from prompts import services as prompts
from runs import services as runs
from runs import side_by_side
from runs.models import Run


def test_runs_of_two_versions_on_two_samples_come_back_in_order(
    people, prompt, openai_fake, openai_connection
):
    prompts.add_version(people["ed"], prompt, template="Second: {{ ticket_text }}")
    cases = [
        {"connection": "openai", "version": v, "variables": {"ticket_text": text}}
        for v in (1, 2)
        for text in ("refund", "login")
    ]

    done = runs.run_many(people["ed"], prompt, cases)

    assert [(r.version.number, r.variables["ticket_text"]) for r in done] == [
        (1, "refund"),
        (1, "login"),
        (2, "refund"),
        (2, "login"),
    ]
    sent = sorted(r.body["messages"][0]["content"] for r in openai_fake.requests)
    assert sent == [
        "Classify: login for Acme",
        "Classify: refund for Acme",
        "Second: login",
        "Second: refund",
    ]
    assert Run.objects.count() == 4


def test_at_most_n_calls_per_connection_run_at_once(
    settings, people, prompt, openai_fake, openai_connection
):
    settings.RUNS_AT_ONCE_PER_CONNECTION = 2
    openai_fake.script = ["slow"] * 5
    openai_fake.delay = 0.3
    cases = [{"connection": "openai", "variables": {"ticket_text": str(i)}} for i in range(5)]

    done = runs.run_many(people["ed"], prompt, cases)

    assert openai_fake.most_at_once == 2
    assert all(not r.failed for r in done)


def test_each_run_has_its_timeout_and_failures_are_recorded(
    people, prompt, openai_fake, openai_connection
):
    openai_fake.script = ["hang", "ok"]
    cases = [{"connection": "openai", "variables": {"ticket_text": "x"}}] * 2

    done = runs.run_many(people["ed"], prompt, cases)

    assert sorted(r.error_code for r in done) == ["", "provider_timeout"]


def test_one_bad_case_refuses_them_all_before_any_call(
    people, prompt, openai_fake, openai_connection
):
    cases = [
        {"connection": "openai", "variables": {"ticket_text": "x"}},
        {"connection": "openai", "variables": {}},
    ]

    with pytest.raises(runs.DomainError) as refused:
        runs.run_many(people["ed"], prompt, cases)

    assert refused.value.code == "missing_variables"
    assert openai_fake.requests == []
    assert not Run.objects.exists()


def test_viewers_start_no_runs(people, prompt, openai_connection):
    with pytest.raises(runs.DomainError) as refused:
        runs.run_many(people["vic"], prompt, [{"connection": "openai"}])
    assert refused.value.status == 403


# ------------------------------------------------------------------ pairs of outputs


def two_versions_and_two_samples(people, prompt) -> None:
    prompts.add_version(people["ed"], prompt, template="Sort: {{ ticket_text }} for Acme")
    samples.save_sample(people["ed"], prompt, "double charge", {"ticket_text": "charged twice"})
    samples.save_sample(people["ed"], prompt, "locked out", {"ticket_text": "cannot log in"})


def test_two_versions_on_two_samples_come_back_as_pairs_with_a_word_diff(
    people, prompt, openai_fake, openai_connection
):
    openai_fake.echo = True
    two_versions_and_two_samples(people, prompt)

    pairs = side_by_side.run_side_by_side(
        people["ed"],
        prompt,
        left={"connection": "openai", "version": 1},
        right={"connection": "openai", "version": 2},
        samples=["locked out", "double charge"],
    )

    assert [p.sample for p in pairs] == ["locked out", "double charge"]
    first = pairs[0]
    assert first.left.output == "You said: Classify: cannot log in for Acme"
    assert first.right.output == "You said: Sort: cannot log in for Acme"
    assert (first.left.version.number, first.right.version.number) == (1, 2)
    removed = [line for line in first.lines if line["op"] == "remove"]
    assert [text for op, text in removed[0]["words"] if op == "remove"] == ["Classify:"]
    assert not first.same
    assert Run.objects.count() == 4


def test_two_models_of_one_version_run_side_by_side(people, prompt, openai_fake, openai_connection):
    samples.save_sample(people["ed"], prompt, "s", {"ticket_text": "x"})

    pairs = side_by_side.run_side_by_side(
        people["ed"],
        prompt,
        left={"connection": "openai", "model": "gpt-4o-mini"},
        right={"connection": "openai", "model": "gpt-4o"},
        samples=["s"],
    )

    assert sorted(r.body["model"] for r in openai_fake.requests) == ["gpt-4o", "gpt-4o-mini"]
    assert pairs[0].same


def test_an_unknown_sample_is_refused_before_any_call(
    people, prompt, openai_fake, openai_connection
):
    with pytest.raises(runs.DomainError) as refused:
        side_by_side.run_side_by_side(
            people["ed"],
            prompt,
            left={"connection": "openai"},
            right={"connection": "openai"},
            samples=["nowhere"],
        )
    assert refused.value.details["field"] == "samples"
    assert openai_fake.requests == []


def test_a_failed_side_is_shown_without_a_diff(people, prompt, openai_fake, openai_connection):
    openai_fake.script = ["server_error"]
    samples.save_sample(people["ed"], prompt, "s", {"ticket_text": "x"})

    [pair] = side_by_side.run_side_by_side(
        people["ed"],
        prompt,
        left={"connection": "openai"},
        right={"connection": "openai"},
        samples=["s"],
    )

    assert sorted([pair.left.error_code, pair.right.error_code]) == ["", "provider_error"]
    assert pair.lines is None and not pair.same
