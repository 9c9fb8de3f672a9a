"""The two scanners, run on a translated template, and their JSON reports read as findings."""

import json
import subprocess
from pathlib import Path

from tests.template.scan.accepted import Finding
from tests.template.test_template import run, tool


class ScannerFailed(Exception):
    """A scanner gave no report, or read nothing of the template: its silence proves nothing."""


def checkov_findings(checkov: str, template: Path) -> list[Finding]:
    try:
        result = run(
            *(checkov, "--file", str(template), "--framework", "cloudformation"),
            *("--output", "json", "--quiet", "--skip-download"),  # no call home for guidelines
        )
    except FileNotFoundError:
        raise ScannerFailed(f"no checkov at {checkov} (`make scan` installs it)") from None
    return read_checkov(result)


def cfn_lint_findings(template: Path) -> list[Finding]:
    """Every match of cfn-lint's own rules and the serverless rules, at any level."""
    result = run(
        *(tool("cfn-lint"), str(template), "--format", "json"),
        *("--append-rules", "cfn_lint_serverless.rules"),
    )
    return read_cfn_lint(result)


def read_checkov(result: subprocess.CompletedProcess) -> list[Finding]:
    """checkov's failed checks, each on the logical id it names (`AWS::S3::Bucket.Name`)."""
    report = _report(result, "checkov")
    summary = report.get("summary", report)  # a bare summary when it found no resource at all
    if summary.get("parsing_errors") or not summary.get("resource_count"):
        raise ScannerFailed(f"checkov did not read the template: {summary} {result.stderr[-2000:]}")
    return [
        Finding(
            "checkov", check["check_id"], check["resource"].rsplit(".", 1)[-1], check["check_name"]
        )
        for check in report["results"]["failed_checks"]
    ]


def read_cfn_lint(result: subprocess.CompletedProcess) -> list[Finding]:
    return [
        Finding(
            "cfn-lint", match["Rule"]["Id"], _resource(match["Location"]["Path"]), match["Message"]
        )
        for match in _report(result, "cfn-lint")
    ]


def _resource(path: list | None) -> str:
    """The logical id a match is on, or its path where it is on no resource."""
    path = [str(part) for part in path or []]
    return path[1] if path[:1] == ["Resources"] and len(path) > 1 else "/".join(path)


def _report(result: subprocess.CompletedProcess, scanner: str):
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ScannerFailed(
            f"{scanner} exited {result.returncode} without its JSON report: {result.stderr[-2000:]}"
        ) from None
