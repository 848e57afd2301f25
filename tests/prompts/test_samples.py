"""Sample inputs: editors keep them, viewers read them, outsiders never learn of them;
names and values are checked before anything is written."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from prompts import samples
from prompts.models import SampleInput
from registry_site.errors import Forbidden, Invalid, NotFound


@pytest.mark.parametrize("username", ["ed", "rita", "alice"])
def test_editors_and_above_save_a_sample(people, prompt, username):
    sample = samples.save_sample(people[username], prompt, "  refund ", {"ticket_text": "Refund!"})
    assert sample.name == "refund"  # surrounding spaces dropped
    assert sample.values == {"ticket_text": "Refund!"}
    assert sample.author == people[username]
    assert [s.name for s in samples.samples_for(prompt)] == ["refund"]


def test_saving_under_the_same_name_replaces_the_values(people, prompt):
    first = samples.save_sample(people["ed"], prompt, "refund", {"ticket_text": "one"})
    second = samples.save_sample(people["rita"], prompt, "refund", {"product": "Zed"})
    assert first.pk == second.pk
    assert SampleInput.objects.count() == 1
    stored = SampleInput.objects.get()
    assert stored.values == {"product": "Zed"}
    assert stored.author == people["rita"]
    assert stored.updated_at >= stored.created_at


def test_names_are_unique_per_prompt_only(people, prompt, billing_prompt):
    samples.save_sample(people["ed"], prompt, "same", {})
    samples.save_sample(people["oscar"], billing_prompt, "same", {"customer": "Bo"})
    assert samples.samples_for(prompt).get().values == {}
    assert samples.samples_for(billing_prompt).get().values == {"customer": "Bo"}


def test_samples_are_listed_by_name(people, prompt):
    for name in ["zeta", "alpha", "Mid"]:
        samples.save_sample(people["ed"], prompt, name, {})
    assert [s.name for s in samples.samples_for(prompt)] == ["Mid", "alpha", "zeta"]
    assert samples.get_sample(prompt, "alpha").name == "alpha"
    assert samples.get_sample(prompt, "nope") is None
    assert samples.get_sample(prompt, None) is None


def test_a_viewer_reads_but_does_not_write(people, prompt):
    samples.save_sample(people["ed"], prompt, "refund", {"ticket_text": "x"})
    assert [s.name for s in samples.samples_for(prompt, people["vic"])] == ["refund"]
    with pytest.raises(Forbidden):
        samples.save_sample(people["vic"], prompt, "mine", {})
    with pytest.raises(Forbidden):
        samples.delete_sample(people["vic"], prompt, "refund")
    assert SampleInput.objects.count() == 1


@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_someone_who_may_not_see_the_prompt_gets_not_found(people, prompt, username):
    samples.save_sample(people["ed"], prompt, "refund", {"ticket_text": "x"})
    with pytest.raises(NotFound):
        samples.samples_for(prompt, people[username])
    with pytest.raises(NotFound):
        samples.save_sample(people[username], prompt, "mine", {})
    with pytest.raises(NotFound):
        samples.delete_sample(people[username], prompt, "refund")
    assert SampleInput.objects.count() == 1


def test_anonymous_may_do_nothing(people, prompt):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotFound):
        samples.save_sample(AnonymousUser(), prompt, "x", {})
    with pytest.raises(NotFound):
        samples.samples_for(prompt, AnonymousUser())


def test_a_grant_on_the_prompt_is_enough_to_keep_samples(people, prompt):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    samples.save_sample(people["gina"], prompt, "granted", {"ticket_text": "hi"})
    assert SampleInput.objects.filter(name="granted").exists()


def test_delete_removes_one_sample(people, prompt):
    samples.save_sample(people["ed"], prompt, "a", {})
    samples.save_sample(people["ed"], prompt, "b", {})
    samples.delete_sample(people["ed"], prompt, "a")
    assert [s.name for s in samples.samples_for(prompt)] == ["b"]
    with pytest.raises(NotFound):
        samples.delete_sample(people["ed"], prompt, "a")
    with pytest.raises(NotFound):
        samples.delete_sample(people["ed"], prompt, None)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, 7, "nul\x00name"])
def test_bad_names_are_refused(people, prompt, name):
    with pytest.raises(Invalid) as caught:
        samples.save_sample(people["ed"], prompt, name, {})
    assert caught.value.details["field"] == "name"
    assert not SampleInput.objects.exists()


def test_a_name_of_100_characters_is_fine(people, prompt):
    assert samples.save_sample(people["ed"], prompt, "n" * 100, {}).name == "n" * 100


@pytest.mark.parametrize(
    "values",
    [
        None,
        [],
        "text",
        {1: "not a string key"},
        {"not a name": "x"},
        {"": "x"},
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": {1, 2}},
        {"x": object()},
        {"x": "nul\x00inside"},
        {"x": "\ud800"},
        {"x": "y" * 100_001},
    ],
)
def test_bad_values_are_refused(people, prompt, values):
    with pytest.raises(Invalid) as caught:
        samples.save_sample(people["ed"], prompt, "bad", values)
    assert caught.value.details["field"] == "values"
    assert not SampleInput.objects.exists()


def test_deeply_nested_values_are_refused_not_crashed(people, prompt):
    nested: list = []
    for _ in range(5_000):
        nested = [nested]
    with pytest.raises(Invalid):
        samples.save_sample(people["ed"], prompt, "deep", {"x": nested})


def test_values_are_plain_json(people, prompt):
    values = {"items": (1, 2), "flag": True, "none": None, "nested": {"a": [1.5, "b"]}}
    sample = samples.save_sample(people["ed"], prompt, "json", values)
    sample.refresh_from_db()
    assert sample.values == {
        "items": [1, 2],
        "flag": True,
        "none": None,
        "nested": {"a": [1.5, "b"]},
    }


def test_values_just_under_the_size_limit_are_kept(people, prompt):
    text = "y" * (samples.MAX_VALUES_BYTES - 20)
    sample = samples.save_sample(people["ed"], prompt, "big", {"x": text})
    assert len(sample.values["x"]) == len(text)
