"""Command line: ``python -m prompt_registry_client evaluate TEAM/SLUG --dataset D
--connection C [--version N | --environment E] --min-pass-rate 0.9``.

Starts an evaluation, prints its progress, waits for it and exits 0 when it succeeded
at or above the rate; 1 when it finished under the rate (or failed or was cancelled);
2 when it could not run (bad arguments, refused, unreachable). The registry's address
and token come from ``--url`` / ``PROMPT_REGISTRY_URL`` and ``PROMPT_REGISTRY_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .client import RegistryClient
from .errors import RegistryError

PASSED, UNDER, CANNOT_RUN = 0, 1, 2


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a number from 0 to 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prompt_registry_client")
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser("evaluate", help="evaluate a version and check its pass rate")
    evaluate.add_argument("address", metavar="TEAM/SLUG")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--connection", required=True)
    chosen = evaluate.add_mutually_exclusive_group()
    chosen.add_argument("--version", type=int, help="default: the latest version")
    chosen.add_argument("--environment", help="evaluate what is live there")
    evaluate.add_argument("--model")
    evaluate.add_argument("--min-pass-rate", type=_rate, required=True, metavar="RATE")
    evaluate.add_argument("--url", default=os.environ.get("PROMPT_REGISTRY_URL"))
    evaluate.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    evaluate.add_argument("--wait", type=float, default=3600.0, help="give up after seconds")
    return parser


def _progress(out: TextIO):
    def show(evaluation: dict[str, Any]) -> None:
        done = evaluation["passed"] + evaluation["failed"] + evaluation["errors"]
        print(
            f"evaluation {evaluation['id']}: {evaluation['state']}, "
            f"{done}/{evaluation['total']} rows",
            file=out,
            flush=True,
        )

    return show


def evaluate(args: argparse.Namespace, out: TextIO) -> int:
    token = os.environ.get("PROMPT_REGISTRY_TOKEN", "")
    if not args.url or not token:
        print("Set PROMPT_REGISTRY_URL (or --url) and PROMPT_REGISTRY_TOKEN.", file=out)
        return CANNOT_RUN
    try:
        client = RegistryClient(args.url, token, timeout=30.0)
        final = client.evaluate(
            args.address,
            dataset=args.dataset,
            connection=args.connection,
            version=args.version,
            environment=args.environment,
            model=args.model,
            poll=args.poll,
            wait=args.wait,
            on_progress=_progress(out),
        )
    except (RegistryError, ValueError) as exc:
        print(f"The evaluation could not run: {exc}", file=out)
        return CANNOT_RUN
    rate = final.get("pass_rate") or 0.0
    print(
        f"evaluation {final['id']} of {args.address} v{final['version']} on "
        f"{final['dataset']} r{final['dataset_revision']}: {final['state']}, "
        f"{final['passed']} passed, {final['failed']} failed, {final['errors']} errors, "
        f"pass rate {rate:.2%} (needed {args.min_pass_rate:.2%})",
        file=out,
    )
    if final["state"] != "succeeded" or rate < args.min_pass_rate:
        return UNDER
    return PASSED


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    return evaluate(args, out)


if __name__ == "__main__":
    sys.exit(main())
