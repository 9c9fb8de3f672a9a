"""`make scan`: checkov and cfn-lint with AWS Labs' serverless rules on the template as SAM
translates it. Prints each finding accepted.toml does not accept, and each accepted one no scanner
reports any more; exits 1 if there is any, 2 if a scanner or the list cannot be read."""

import argparse
import json
import logging
import sys
from pathlib import Path

from cfnlint.decode import decode

from tests.template.scan.accepted import ACCEPTED, Finding, InvalidAcceptedList, judge, load
from tests.template.scan.scanners import ScannerFailed, cfn_lint_findings, checkov_findings
from tests.template.test_template import ROOT, translated

SCANNED = ROOT / "build" / "scan" / "template.json"


def scan(template_path: Path, checkov: str) -> list[Finding]:
    """The template translated into build/scan/template.json, then both scanners' findings on it."""
    template, problems = decode(str(template_path))
    if template is None:
        raise ScannerFailed(f"{template_path} is not a template: {problems}")
    SCANNED.parent.mkdir(parents=True, exist_ok=True)
    SCANNED.write_text(json.dumps(translated(template), indent=1))
    return checkov_findings(checkov, SCANNED) + cfn_lint_findings(SCANNED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.template.scan", description=__doc__)
    parser.add_argument("--checkov", required=True, help="checkov's console script (.venv-scan)")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args(argv)
    # The translator's own usage metrics, never published, warn at exit; they are not ours.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    listed = ACCEPTED.relative_to(ROOT)
    try:
        new, stale = judge(scan(args.template, args.checkov), load())
    except (InvalidAcceptedList, ScannerFailed) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 2
    for finding in new:
        print(f"NOT ACCEPTED {finding.tool} {finding.check} {finding.resource}: {finding.message}")
    for finding in stale:
        print(f"NO LONGER FOUND {finding.tool} {finding.check} {finding.resource}: remove it")
    if new or stale:
        print(
            f"scan failed: {len(new)} findings not accepted in {listed}, {len(stale)} stale there"
        )
        return 1
    print(f"scan passed: each finding of checkov and cfn-lint's serverless rules is in {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
