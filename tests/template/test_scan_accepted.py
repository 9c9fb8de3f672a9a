"""`make scan`'s accepted findings (tests/template/scan/accepted.toml), checked without the
scanners: each names a rule that exists and resources the translated template has, once, with its
reason; the judgement fails on a finding not listed and on an entry no longer found; the scanners'
reports are read, and a report that proves nothing is refused."""

import json
import re
import subprocess

import pytest
from cfnlint.rules import Rules

from tests.template.scan.accepted import Finding, InvalidAcceptedList, judge, load
from tests.template.scan.scanners import ScannerFailed, read_cfn_lint, read_checkov
from tests.template.test_template import GENERATED

ACCEPTED = load()


def test_every_accepted_finding_is_on_a_resource_of_the_translated_template():
    assert {r for entry in ACCEPTED for r in entry.resources} - set(GENERATED) == set()


def test_every_accepted_finding_names_a_check_of_its_tool():
    serverless_rules = set(Rules.create_from_module("cfn_lint_serverless.rules"))
    for entry in ACCEPTED:
        if entry.tool == "cfn-lint":
            assert entry.check in serverless_rules, entry
        else:  # checkov's registry lives in .venv-scan; `make scan` fails on an id never reported
            assert re.fullmatch(r"CKV2?_AWS_\d+", entry.check), entry


def write(tmp_path, text: str):
    path = tmp_path / "accepted.toml"
    path.write_text(text)
    return path


ENTRY = 'tool = "checkov"\ncheck = "CKV_AWS_1"\nresources = ["A"]\nreason = "why"\n'


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[accepted]]\n" + ENTRY.replace('reason = "why"\n', ""), "has keys"),
        ("[[accepted]]\n" + ENTRY.replace('"why"', '"  "'), "non-empty text"),
        ("[[accepted]]\n" + ENTRY.replace('"checkov"', '"tfsec"'), "tool 'tfsec'"),
        ("[[accepted]]\n" + ENTRY.replace('["A"]', "[]"), "non-empty list"),
        ("[[accepted]]\n" + ENTRY.replace('["A"]', '"A"'), "non-empty list"),
        (
            "[[accepted]]\n" + ENTRY.replace('["A"]', '["A", "B", "A"]'),
            "CKV_AWS_1 A is listed twice",
        ),
        ("[[accepted]]\n" + ENTRY + "[[accepted]]\n" + ENTRY, "CKV_AWS_1 A is listed twice"),
        ("[accepted]\n" + ENTRY + "[[accepted]]\n", "not a TOML list"),
        ("[[skipped]]\n" + ENTRY, "not a TOML list"),
    ],
)
def test_a_malformed_list_is_refused_by_name(tmp_path, text, says):
    with pytest.raises(InvalidAcceptedList, match=re.escape(says)):
        load(write(tmp_path, text))


def test_the_same_check_on_other_resources_may_have_its_own_reason(tmp_path):
    other = ENTRY.replace('["A"]', '["B"]').replace('"why"', '"another reason"')
    loaded = load(write(tmp_path, "[[accepted]]\n" + ENTRY + "[[accepted]]\n" + other))
    assert [(e.resources, e.reason) for e in loaded] == [
        (("A",), "why"),
        (("B",), "another reason"),
    ]


def accepted_a(tmp_path):
    return load(write(tmp_path, "[[accepted]]\n" + ENTRY.replace('["A"]', '["A", "B"]')))


def test_findings_all_accepted_pass(tmp_path):
    findings = [Finding("checkov", "CKV_AWS_1", r, "any message") for r in ("A", "B")]
    assert judge(findings, accepted_a(tmp_path)) == ([], [])


def test_a_finding_not_listed_fails_even_for_an_accepted_check_on_another_resource(tmp_path):
    findings = [Finding("checkov", "CKV_AWS_1", r) for r in ("A", "B", "C")]
    findings += [Finding("cfn-lint", "CKV_AWS_1", "A"), Finding("checkov", "CKV_AWS_2", "A")]
    new, stale = judge(findings, accepted_a(tmp_path))
    assert (new, stale) == (findings[2:], [])


def test_an_accepted_finding_no_longer_reported_is_stale(tmp_path):
    new, stale = judge([Finding("checkov", "CKV_AWS_1", "B")], accepted_a(tmp_path))
    assert (new, stale) == ([], [Finding("checkov", "CKV_AWS_1", "A")])


def completed(stdout: str, returncode: int = 1, stderr: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(["scanner"], returncode, stdout, stderr)


def checkov_report(failed: list[dict], **summary) -> str:
    """checkov 3.3's JSON report for one CloudFormation file, with the fields read here."""
    counts = {"passed": 1, "failed": len(failed), "parsing_errors": 0, "resource_count": 2}
    return json.dumps(
        {
            "check_type": "cloudformation",
            "results": {"failed_checks": failed},
            "summary": counts | summary,
        }
    )


def test_checkov_failed_checks_are_findings_on_logical_ids():
    failed = {
        "check_id": "CKV_AWS_21",
        "check_name": "Ensure the S3 bucket has versioning enabled",
        "resource": "AWS::S3::Bucket.BackfillResultsBucket",
    }
    assert read_checkov(completed(checkov_report([failed]))) == [
        Finding("checkov", "CKV_AWS_21", "BackfillResultsBucket", failed["check_name"])
    ]


@pytest.mark.parametrize(
    "stdout",
    [
        checkov_report([], parsing_errors=1, resource_count=0),  # what it says of a broken file
        json.dumps(
            {"passed": 0, "failed": 0, "parsing_errors": 0, "resource_count": 0}
        ),  # no resource
        "",  # crashed
    ],
)
def test_a_checkov_report_that_read_nothing_is_a_failure_not_a_pass(stdout):
    with pytest.raises(ScannerFailed, match="checkov"):
        read_checkov(completed(stdout, returncode=0, stderr="YAML error parsing"))


def test_cfn_lint_matches_are_findings_on_their_resource_or_path():
    matches = [
        {
            "Rule": {"Id": "ES6000"},
            "Location": {"Path": ["Resources", "ReviewQueue"]},
            "Message": "m",
        },
        {"Rule": {"Id": "W2001"}, "Location": {"Path": ["Parameters", "Unused"]}, "Message": "n"},
        {"Rule": {"Id": "E0000"}, "Location": {"Path": None}, "Message": "o"},
    ]
    assert read_cfn_lint(completed(json.dumps(matches))) == [
        Finding("cfn-lint", "ES6000", "ReviewQueue", "m"),
        Finding("cfn-lint", "W2001", "Parameters/Unused", "n"),
        Finding("cfn-lint", "E0000", "", "o"),
    ]


def test_cfn_lint_without_its_report_is_a_failure():
    with pytest.raises(ScannerFailed, match="cfn-lint exited 1 without its JSON report: boom"):
        read_cfn_lint(completed("Traceback", stderr="boom"))
