"""The release rule "evaluation required", registered with releases.policy at start-up.

A version goes live in an environment with ``required_evaluation`` {dataset,
min_pass_rate} only if an evaluation of exactly that version, on the latest revision of
the prompt's dataset of that name, succeeded at or above the rate. Otherwise the
refusal (403 ``evaluation_required``) names what is missing in ``details.missing``:
``dataset`` (the prompt has none of that name), ``evaluation`` (none ran),
``pass_rate`` (the best one is too low) or ``dataset_revision`` (only an older
revision passed).
"""

from __future__ import annotations

from evaluations.datasets import latest_revision
from evaluations.models import Evaluation
from prompts.models import Prompt, Version
from registry_site.errors import Forbidden
from releases.models import Environment
from releases.policy import register_release_check


def _refuse(message: str, missing: str, details: dict) -> Forbidden:
    return Forbidden(message, reason="evaluation_required", details={"missing": missing, **details})


def check_required_evaluation(prompt: Prompt, environment: Environment, version: Version) -> None:
    rule = environment.required_evaluation
    if not rule:
        return
    name, rate = rule["dataset"], rule["min_pass_rate"]
    details = {"dataset": name, "min_pass_rate": rate}
    where = f"{environment.slug} takes only versions evaluated on the dataset {name}"
    latest = latest_revision(prompt, name)
    if latest is None:
        raise _refuse(f"{where}, and {prompt.address} has no dataset {name}.", "dataset", details)
    details["dataset_revision"] = latest.number
    succeeded = list(
        Evaluation.objects.filter(
            version=version, revision__dataset=latest.dataset, state=Evaluation.State.SUCCEEDED
        ).select_related("revision")
    )
    on_latest = [e for e in succeeded if e.revision_id == latest.pk]
    best = max((e.pass_rate or 0.0 for e in on_latest), default=None)
    if best is not None and best >= rate:
        return
    if best is not None:
        raise _refuse(
            f"{where} passing at least {rate:.0%}; version {version.number} passed {best:.0%}.",
            "pass_rate",
            {**details, "pass_rate": best},
        )
    if succeeded:
        older = max(e.revision.number for e in succeeded)
        raise _refuse(
            f"{where}; version {version.number} was evaluated on revision {older}, "
            f"not on the latest, revision {latest.number}.",
            "dataset_revision",
            {**details, "evaluated_revision": older},
        )
    raise _refuse(
        f"{where}; no evaluation of version {version.number} on revision {latest.number} "
        "succeeded.",
        "evaluation",
        details,
    )


def register() -> None:
    register_release_check(check_required_evaluation)
