"""The findings the project accepts (accepted.toml), and a scan's findings judged against them."""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ACCEPTED = Path(__file__).with_name("accepted.toml")
TOOLS = ("checkov", "cfn-lint")
KEYS = {"tool", "check", "resources", "reason"}


class InvalidAcceptedList(Exception):
    """accepted.toml is malformed: an entry lacks a key or a reason, or repeats a finding."""


@dataclass(frozen=True)
class Finding:
    """One check a scanner failed on one resource; `message` says what, and is not its identity."""

    tool: str
    check: str
    resource: str
    message: str = field(default="", compare=False)


@dataclass(frozen=True)
class Accepted:
    tool: str
    check: str
    resources: tuple[str, ...]
    reason: str


def load(path: Path = ACCEPTED) -> list[Accepted]:
    """The list, each finding in it once and with its reason, or InvalidAcceptedList."""
    try:
        entries = tomllib.loads(path.read_text())["accepted"]
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise InvalidAcceptedList(
            f"{path.name}: not a TOML list of [[accepted]] ({error})"
        ) from error
    if not isinstance(entries, list):
        raise InvalidAcceptedList(f"{path.name}: not a TOML list of [[accepted]] (one [accepted])")
    accepted = [_entry(number, entry) for number, entry in enumerate(entries, 1)]
    seen = set()
    for entry in accepted:
        for finding in ((entry.tool, entry.check, resource) for resource in entry.resources):
            if finding in seen:
                raise InvalidAcceptedList(f"{path.name}: {' '.join(finding)} is listed twice")
            seen.add(finding)
    return accepted


def _entry(number: int, entry: dict) -> Accepted:
    where = f"[[accepted]] number {number}"
    if set(entry) != KEYS:
        raise InvalidAcceptedList(f"{where} has keys {sorted(entry)}, wants {sorted(KEYS)}")
    if entry["tool"] not in TOOLS:
        raise InvalidAcceptedList(f"{where}: tool {entry['tool']!r} is none of {TOOLS}")
    resources = entry["resources"]
    if not isinstance(resources, list) or not resources:
        raise InvalidAcceptedList(f"{where}: resources must be a non-empty list of logical ids")
    if not all(
        isinstance(text, str) and text.strip()
        for text in [entry["check"], entry["reason"], *resources]
    ):
        raise InvalidAcceptedList(
            f"{where}: check, reason and each resource must be non-empty text"
        )
    return Accepted(entry["tool"], entry["check"], tuple(resources), entry["reason"])


def judge(findings: list[Finding], accepted: list[Accepted]) -> tuple[list[Finding], list[Finding]]:
    """(the findings nobody accepted, the accepted findings no scanner reports any more)."""
    allowed = {Finding(entry.tool, entry.check, r) for entry in accepted for r in entry.resources}
    reported = set(findings)
    new = [finding for finding in findings if finding not in allowed]
    stale = sorted(allowed - reported, key=lambda f: (f.tool, f.check, f.resource))
    return new, stale
