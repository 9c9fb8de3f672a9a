"""`make review`: the review page over the local workflow's review queue, in a browser.

Runs the workflow as `make demo` does (the same options), keeps its AWS running in moto once the
images are classified, and serves the review page over its review queue until Ctrl-C. moto is
also served on 127.0.0.1, so that `python -m operations.review` in another terminal reaches
the same queue (the command prints the variables it needs).
"""

import signal
import sys

if __name__ == "__main__":  # Ctrl-C while the imports load: no traceback, nothing to stop yet
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))

import argparse
import logging
from collections.abc import Sequence
from contextlib import ExitStack, redirect_stdout

from local import demo
from local.emulation import workflow
from local.emulation.moto_server import moto_server
from local.emulation.review import LocalReview
from operations.review_page import PORT, serve
from training.common.errors import TrainingError

REVIEW_IMAGES = 60  # the demo's 20 leave 2 or 3 synthetic images below the threshold


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, argparse.Namespace]:
    """The page's own options, and `make demo`'s for the run before it."""
    parser = argparse.ArgumentParser(
        prog="make review ARGS=...",
        description="The local workflow, then its review queue in a browser until Ctrl-C. Every "
        "`make demo` option applies too (--synthetic, --archive, --images, --seed...).",
    )
    parser.add_argument("--port", type=int, default=PORT, help=f"the page's port ({PORT})")
    ours, rest = parser.parse_known_args(argv)
    if not any(word.startswith("--images") for word in rest):
        rest = [*rest, "--images", str(REVIEW_IMAGES)]
    args = demo.parse_args(rest)
    if args.backfill:
        parser.error("--backfill is make demo's: the page reviews what the uploads queued")
    return ours, args


def main(argv: Sequence[str] | None = None) -> int:
    ours, args = parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # it logs each failed execution
    try:
        images = demo.chosen_images(args)
    except TrainingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with ExitStack() as stack:
            outcomes, review = demo.run_workflow(args, images, stack)
            moto_url = stack.enter_context(moto_server())
            local = LocalReview(moto_url, args.region)
            with redirect_stdout(sys.__stdout__):  # the run sends stdout to the functions' log
                demo.print_table(outcomes)
                demo.print_review_queue(review)
                print_command_line(moto_url, local)
                print(serve(local.reviewer(wait_seconds=1), ours.port))
    except KeyboardInterrupt:  # during the run: the ExitStack stopped everything it started
        print("\ninterrupted: servers stopped, nothing left running", file=sys.stderr)
        return 130
    return 0


def print_command_line(moto_url: str, local: LocalReview) -> None:
    """How `python -m operations.review` reaches the same queue, from another terminal."""
    print("\nthe same queue from another terminal (moto's server takes any credentials):")
    print(
        f"  AWS_ENDPOINT_URL={moto_url} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"AWS_DEFAULT_REGION={local.region} REVIEW_QUEUE_URL={local.queue_url} "
        f"IMAGE_BUCKET_NAME={workflow.IMAGE_BUCKET} "
        f"GROUND_TRUTH_BUCKET={workflow.GROUND_TRUTH_BUCKET} "
        ".venv/bin/python -m operations.review list"
    )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # imports done: stop what runs
    sys.exit(main())
