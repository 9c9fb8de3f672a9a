"""`python -m bench [--only sizes,coldstart,model,execution,backfill,demo,review,localstack]
[--repeats N] [--real-archive PATH [--real-md5 MD5]]`

Prints one line per figure of DESIGN.md section 7 (value, bound, PASS or FAIL) and exits 1
when any figure fails or could not be measured.
"""

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cold_start import MIN_REPEATS
from bench.execution import MIN_IMAGES
from bench.figures import Figure, not_measurable
from bench.model import RealArchive

# --only name -> module with `measure(repeats) -> list[Figure]`, in the order they run
# (model before execution: the execution figure serves the model the model figure trained).
SECTIONS = {
    "sizes": "bench.sizes",
    "coldstart": "bench.cold_start",
    "model": "bench.model",
    "execution": "bench.execution",
    "backfill": "bench.backfill",
    "demo": "bench.demo",
    "review": "bench.review_page",  # needs Chromium: the browser tests' machinery
    "localstack": "bench.acceptance",  # needs Docker: the stack `make acceptance` deploys
}


def section_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {','.join(SECTIONS)}, got {text!r}")
    return names


def at_least_min_repeats(text: str) -> int:
    repeats = int(text)
    if repeats < MIN_REPEATS:
        raise argparse.ArgumentTypeError(f"the cold-start figure needs at least {MIN_REPEATS}")
    return repeats


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the figures of DESIGN.md section 7, one line each (value, bound, "
        "PASS or FAIL); exit 1 unless every figure passes.",
    )
    parser.add_argument(
        "--only",
        type=section_list,
        default=list(SECTIONS),
        metavar=",".join(SECTIONS),
        help="run only these sections (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=at_least_min_repeats,
        default=MIN_REPEATS,
        metavar="N",
        help=f"fresh processes per handler and per baseline for the cold starts (default and "
        f"minimum {MIN_REPEATS}); the execution figure uses max(N, {MIN_IMAGES}) images",
    )
    parser.add_argument(
        "--real-archive",
        type=Path,
        metavar="PATH",
        help="an archive of real photographs in CIFAR-100's layout: the model section also "
        "trains on its train split and reports its test split's figures",
    )
    parser.add_argument("--real-md5", metavar="MD5", help="its MD5, if not the published one")
    args = parser.parse_args(argv)
    if args.real_md5 and not args.real_archive:
        parser.error("--real-md5 goes with --real-archive")
    return args


def section_options(name: str, args: argparse.Namespace) -> dict:
    """What a section takes beyond the repeats: the model section, a real archive."""
    if name == "model" and args.real_archive:
        return {"real_archive": RealArchive(args.real_archive, args.real_md5)}
    return {}


def run_section(name: str, args: argparse.Namespace) -> list[Figure]:
    """The section's figures; one not-measurable line if the section itself breaks."""
    try:
        module = importlib.import_module(SECTIONS[name])
        return module.measure(args.repeats, **section_options(name, args))
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error).strip()[:160]}"
        return [not_measurable(name, "(every figure of the section)", "-", reason)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    figures = []
    for name in SECTIONS:
        if name in args.only:
            for figure in run_section(name, args):
                print(figure.line(), flush=True)
                figures.append(figure)
    failed = sum(figure.passed is False for figure in figures)
    unmeasured = sum(figure.passed is None for figure in figures)
    print(
        f"{len(figures)} figures: {len(figures) - failed - unmeasured} PASS, {failed} FAIL, "
        f"{unmeasured} not measurable; {time.perf_counter() - started:.0f} s"
    )
    return 1 if failed or unmeasured else 0


if __name__ == "__main__":
    sys.exit(main())
