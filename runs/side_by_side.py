"""Side by side: two versions (or two models, or two connections) run on the same
sample inputs, and each pair of outputs word-diffed as the compare page diffs text.

Every case goes through ``services.run_many``: all are checked before any call (a
missing variable refuses the lot), the calls share a bounded pool per connection and
each has its timeout; every run is recorded, failed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.services import require
from prompts import diffing
from prompts.models import Prompt
from prompts.samples import samples_for
from registry_site.errors import Invalid
from runs import services
from runs.models import Run

# What one side may say: which connection, and what runs there.
SIDE_KEYS = ("connection", "version", "environment", "model", "config")
NO_SAMPLE = ""  # the row of a run with no values (each variable's default)


@dataclass(frozen=True)
class Pair:
    """The two runs of one sample input, and their outputs' line diff (with word
    highlights); ``lines`` is None when either run failed."""

    sample: str
    left: Run
    right: Run
    lines: list[dict] | None

    @property
    def same(self) -> bool:
        return self.lines is not None and all(line["op"] == "equal" for line in self.lines)


def _side(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"{name} says what runs: connection, version, model...", {"field": name})
    unknown = sorted(set(value) - set(SIDE_KEYS))
    if unknown:
        raise Invalid(f"{name} cannot say {unknown[0]}.", {"field": name, "allowed": SIDE_KEYS})
    return dict(value)


def _chosen_samples(actor: Any, prompt: Prompt, names: Any) -> list[tuple[str, dict]]:
    """(name, values) of the samples asked for, in the order asked; none: one run of
    each side with no values."""
    if names in (None, []):
        return [(NO_SAMPLE, {})]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Invalid("samples is a list of sample input names.", {"field": "samples"})
    kept = {sample.name: sample.values for sample in samples_for(prompt, actor)}
    unknown = [name for name in names if name not in kept]
    if unknown:
        raise Invalid(
            f"{prompt.address} has no sample input {unknown[0][:100]!r}.",
            {"field": "samples", "name": unknown[0][:100]},
        )
    return [(name, kept[name]) for name in dict.fromkeys(names)]


def _diff(left: Run, right: Run) -> list[dict] | None:
    if left.failed or right.failed:
        return None
    return diffing.diff_lines(left.output, right.output)


def run_side_by_side(
    actor: Any, prompt: Prompt, *, left: Any, right: Any, samples: Any = None
) -> list[Pair]:
    """Run both sides on each sample input; the pairs in the order of the samples."""
    require(actor, "edit", prompt, "Only editors and above run prompts.")
    left, right = _side(left, "left"), _side(right, "right")
    chosen = _chosen_samples(actor, prompt, samples)
    if 2 * len(chosen) > services.MAX_RUNS_AT_ONCE:
        raise Invalid(
            f"Compare on at most {services.MAX_RUNS_AT_ONCE // 2} sample inputs at once.",
            {"field": "samples", "limit": services.MAX_RUNS_AT_ONCE // 2},
        )
    cases = []
    for _, values in chosen:
        cases += [{**left, "variables": values}, {**right, "variables": values}]
    done = services.run_many(actor, prompt, cases)
    return [
        Pair(name, done[2 * i], done[2 * i + 1], _diff(done[2 * i], done[2 * i + 1]))
        for i, (name, _) in enumerate(chosen)
    ]
