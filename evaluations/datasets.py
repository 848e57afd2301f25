"""Datasets of a prompt: named rows of variable values (each with an optional expected
output) and the checks every output must pass.

Editors and above write them; whoever may see the prompt reads them. Every save makes
a new revision and no revision ever changes, so an evaluation names exactly what it ran.
Rows come and go as JSON, CSV (one column per variable, plus ``expected``) or JSON
Lines (``{"variables": {...}, "expected": "..."}`` per line); sample inputs become rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from django.db import transaction
from django.db.models import Func, IntegerField, OuterRef, QuerySet, Subquery

from accounts.services import require
from evaluations.checks import clean_checks
from evaluations.models import Dataset, DatasetRevision
from prompts.models import Prompt
from prompts.samples import check_values, samples_for
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.middleware import json_is_storable

MAX_ROWS = 5_000
EXPECTED_CHARS = 100_000
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EXPECTED_COLUMN = "expected"


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid(
            "A dataset's name is 1 to 64 lowercase letters, digits, '-' or '_'.", {"field": "name"}
        )
    return name


def _clean_row(row: Any, index: int) -> dict:
    if not isinstance(row, dict) or set(row) - {"variables", "expected"}:
        raise Invalid(
            f"Row {index + 1} is an object {{variables, expected?}}.",
            {"field": "rows", "index": index},
        )
    try:
        variables = check_values(row.get("variables", {}))
    except Invalid as exc:
        raise Invalid(
            f"Row {index + 1}: {exc.message}", {"field": "rows", "index": index}
        ) from None
    expected = row.get("expected")
    if expected is not None and (
        not isinstance(expected, str)
        or len(expected) > EXPECTED_CHARS
        or not json_is_storable(expected)
    ):
        raise Invalid(
            f"Row {index + 1}: expected is text of at most {EXPECTED_CHARS} characters.",
            {"field": "rows", "index": index},
        )
    return {"variables": variables, "expected": expected}


def clean_rows(rows: Any) -> list[dict]:
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise Invalid(f"rows is a list of at most {MAX_ROWS} rows.", {"field": "rows"})
    return [_clean_row(row, index) for index, row in enumerate(rows)]


# ------------------------------------------------------------------ reading


class RowCount(Func):
    """How many rows a revision holds, counted by the database (its rows stay there)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


def datasets_of(actor: Any, prompt: Prompt) -> list[DatasetRevision]:
    """The latest revision of each of the prompt's datasets, by name, each with its
    ``row_count`` and without its rows."""
    require(actor, "view", prompt, "No such prompt.")
    # One query whatever the number of datasets: each one's newest revision by subquery.
    newest = DatasetRevision.objects.filter(dataset=OuterRef("dataset_id")).order_by("-number")
    found = (
        DatasetRevision.objects.filter(dataset__prompt=prompt, pk=Subquery(newest.values("pk")[:1]))
        .select_related("dataset")
        .defer("rows")
        .annotate(row_count=RowCount("rows"))
        .order_by("dataset__name")
    )
    return list(found)


def latest_revision(prompt: Prompt, name: Any) -> DatasetRevision | None:
    """The newest revision of the prompt's dataset ``name``, or None (no rights check)."""
    if not isinstance(name, str):
        return None
    found = (
        DatasetRevision.objects.filter(dataset__prompt=prompt, dataset__name=name)
        .select_related("dataset")
        .order_by("-number")
        .first()
    )
    return found


def find_dataset(actor: Any, prompt: Prompt, name: Any) -> DatasetRevision:
    require(actor, "view", prompt, "No such prompt.")
    found = latest_revision(prompt, name)
    if found is None:
        raise NotFound(f"{prompt.address} has no dataset {str(name)[:64]!r}.")
    return found


def revisions_of(actor: Any, prompt: Prompt, name: Any) -> QuerySet[DatasetRevision]:
    find_dataset(actor, prompt, name)
    return DatasetRevision.objects.filter(dataset__prompt=prompt, dataset__name=name)


# ------------------------------------------------------------------ writing


def check_writable(prompt: Prompt) -> None:
    """An archived prompt is read-only: its datasets and evaluations are read, none is
    changed or started until it is restored."""
    if prompt.is_archived:
        raise Conflict(
            f"{prompt.address} is archived: restore it to change its datasets or run evaluations.",
            {"reason": "archived"},
        )


def create_dataset(
    actor: Any, prompt: Prompt, *, name: Any, rows: Any, checks: Any = None
) -> DatasetRevision:
    """A new dataset at revision 1."""
    require(actor, "edit", prompt, "Only editors write datasets.")
    check_writable(prompt)
    name = check_name(name)
    rows, checks = clean_rows(rows), clean_checks(checks)
    with transaction.atomic():
        if Dataset.objects.filter(prompt=prompt, name=name).exists():
            raise Conflict(f"{prompt.address} already has a dataset {name}.", {"field": "name"})
        dataset = Dataset.objects.create(prompt=prompt, name=name)
        return DatasetRevision.objects.create(
            dataset=dataset, number=1, rows=rows, checks=checks, created_by=actor
        )


def save_revision(
    actor: Any, prompt: Prompt, name: Any, *, rows: Any, checks: Any = None
) -> DatasetRevision:
    """The dataset's next revision; the earlier ones stay as they were."""
    require(actor, "edit", prompt, "Only editors write datasets.")
    check_writable(prompt)
    rows, checks = clean_rows(rows), clean_checks(checks)
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().filter(prompt=prompt, name=name).first()
        if dataset is None:
            raise NotFound(f"{prompt.address} has no dataset {str(name)[:64]!r}.")
        latest = dataset.revisions.order_by("-number").first()
        number = (latest.number if latest else 0) + 1
        revision = DatasetRevision.objects.create(
            dataset=dataset, number=number, rows=rows, checks=checks, created_by=actor
        )
    revision.dataset = dataset
    return revision


def rows_from_samples(actor: Any, prompt: Prompt) -> list[dict]:
    """The prompt's sample inputs as rows without expected outputs."""
    return [{"variables": s.values, "expected": None} for s in samples_for(prompt, actor)]


# ------------------------------------------------------------------ CSV and JSON Lines


def rows_from_csv(text: str) -> list[dict]:
    """One row per line after the header; every column a variable, except ``expected``.
    Values are text, as in the file; an empty ``expected`` is none."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise Invalid("The CSV needs a header line naming the variables.", {"field": "rows"})
    rows = []
    try:
        for line in reader:
            if None in line:
                raise Invalid(
                    f"CSV line {reader.line_num} has more values than the header names.",
                    {"field": "rows", "line": reader.line_num},
                )
            expected = line.pop(EXPECTED_COLUMN, None)
            variables = {k: v for k, v in line.items() if v is not None}
            rows.append({"variables": variables, "expected": expected or None})
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise Invalid(f"The CSV cannot be read: {exc}.", {"field": "rows"}) from None
    return clean_rows(rows)


def rows_from_jsonl(text: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise Invalid(
                f"Line {number} is not JSON.", {"field": "rows", "line": number}
            ) from None
        if len(rows) > MAX_ROWS:
            break
    return clean_rows(rows)


def rows_to_csv(rows: list[dict]) -> str:
    names: list[str] = []
    for row in rows:
        names += [n for n in row["variables"] if n not in names]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*names, EXPECTED_COLUMN])
    for row in rows:
        values = row["variables"]
        cells = [_cell(values.get(n, "")) for n in names]
        writer.writerow([*cells, row.get("expected") or ""])
    return out.getvalue()


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rows_to_jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
