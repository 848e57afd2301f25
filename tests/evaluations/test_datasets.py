"""Datasets over the API: revisions, checks validated at save, CSV and JSON Lines."""

from __future__ import annotations

import pytest

from evaluations.checks import verdicts
from prompts import samples

D = "/api/v1/prompts/support/ticket-classifier/datasets"
ROWS = [{"variables": {"ticket_text": "refund"}, "expected": "billing"}]


def test_every_save_is_a_new_revision_and_old_ones_stay(as_user, prompt):
    created = as_user("ed").post(
        D, {"name": "golden", "rows": ROWS, "checks": [{"type": "equals"}]}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["revision"] == 1

    changed = as_user("ed").put(f"{D}/golden", {"rows": ROWS * 2, "checks": []}, format="json")
    assert changed.json()["revision"] == 2
    assert as_user("vic").get(D).json() == [{"name": "golden", "revision": 2, "rows": 2}]
    assert as_user("vic").get(f"{D}/golden").json()["checks"] == []
    assert as_user("ed").post(D, {"name": "golden", "rows": ROWS}, format="json").status_code == 409


@pytest.mark.parametrize(
    "check",
    [{"type": "regex", "value": "("}, {"type": "json_schema", "schema": {"type": "nope"}},
     {"type": "judge"}, {"type": "max_chars", "value": 0}, {"type": "shout"},
     {"type": "json_schema", "schema": {"$ref": "https://example.com/ticket.json"}},
     {"type": "json_schema", "schema": {"properties": {"a": {"$ref": "other.json#/x"}}}}],
)  # fmt: skip
def test_a_check_that_cannot_work_is_400_when_saved(as_user, prompt, check):
    answer = as_user("ed").post(
        D, {"name": "golden", "rows": ROWS, "checks": [check]}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["field"] == "checks"


def test_viewers_read_editors_write_outsiders_see_nothing(as_user, prompt):
    assert (
        as_user("vic").post(D, {"name": "golden", "rows": ROWS}, format="json").status_code == 403
    )
    assert as_user("oscar").get(D).status_code == 404
    assert (
        as_user("oscar").post(D, {"name": "golden", "rows": ROWS}, format="json").status_code == 404
    )


def test_rows_come_from_csv_and_go_out_as_csv_and_json_lines(as_user, prompt):
    text = 'ticket_text,expected\nrefund please,billing\n"login, broken",\n'
    created = as_user("ed").post(D, {"name": "golden", "rows_csv": text}, format="json")
    assert created.json()["rows"] == [
        {"variables": {"ticket_text": "refund please"}, "expected": "billing"},
        {"variables": {"ticket_text": "login, broken"}, "expected": None},
    ]
    assert as_user("vic").get(f"{D}/golden?rows=csv").content.decode() == text.replace("\n", "\r\n")
    lines = as_user("vic").get(f"{D}/golden?rows=jsonl").content.decode().splitlines()
    again = as_user("ed").put(f"{D}/golden", {"rows_jsonl": "\n".join(lines)}, format="json")
    assert again.json()["rows"] == created.json()["rows"]
    assert (
        as_user("ed").put(f"{D}/golden", {"rows_jsonl": "{nope"}, format="json").status_code == 400
    )


def test_a_dataset_from_the_sample_inputs(as_user, people, prompt):
    samples.save_sample(people["ed"], prompt, "vip", {"ticket_text": "refund", "product": "Pro"})
    created = as_user("ed").post(D, {"name": "samples", "from_samples": True}, format="json")
    assert created.json()["rows"] == [
        {"variables": {"ticket_text": "refund", "product": "Pro"}, "expected": None}
    ]


def test_each_kind_of_check_judges_an_output():
    row = {"variables": {}, "expected": "billing"}
    checks = [
        {"type": "equals"},
        {"type": "contains", "value": "bill"},
        {"type": "not_contains", "value": "sorry"},
        {"type": "regex", "value": "^b"},
        {"type": "json"},
        {"type": "json_schema", "schema": {"type": "string"}},
        {"type": "max_chars", "value": 3},
    ]
    found = [v["passed"] for v in verdicts(checks, "billing", row, None)]
    assert found == [True, True, True, True, False, False, False]
    assert verdicts([{"type": "json_schema", "schema": {"type": "string"}}], '"x"', row, None)[0][
        "passed"
    ]
    assert not verdicts([{"type": "equals"}], "x", {"variables": {}, "expected": None}, None)[0][
        "passed"
    ]


def test_the_list_counts_rows_in_the_database_without_loading_them(as_user, people, prompt):
    from evaluations import datasets

    rows = [{"variables": {"ticket_text": f"t{n}"}, "expected": None} for n in range(7)]
    datasets.create_dataset(people["ed"], prompt, name="seven", rows=rows)
    datasets.create_dataset(people["ed"], prompt, name="none", rows=[])

    (empty, seven) = datasets.datasets_of(people["vic"], prompt)
    assert (empty.row_count, seven.row_count) == (0, 7)
    assert "rows" in seven.get_deferred_fields()
    assert as_user("vic").get(D).json() == [
        {"name": "none", "revision": 1, "rows": 0},
        {"name": "seven", "revision": 1, "rows": 7},
    ]


def test_a_schema_part_that_is_not_there_fails_the_check_with_its_reason():
    from evaluations.checks import clean_checks

    checks = clean_checks(
        [{"type": "json_schema", "schema": {"$ref": "#/definitions/missing"}},
         {"type": "json_schema", "schema": {"const": {"$ref": "not a reference"}}}]
    )  # fmt: skip
    (missing, data) = verdicts(checks, '{"$ref": "not a reference"}', {}, None)
    assert not missing["passed"]
    assert missing["reason"].startswith("the schema's $ref does not resolve: ")
    assert data == {"type": "json_schema", "passed": True, "reason": "matches the schema"}
