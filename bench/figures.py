"""One printed line per figure: what was measured, its value, its bound and the verdict."""

from dataclasses import dataclass

NOT_MEASURABLE = "not measurable yet"


@dataclass(frozen=True)
class Figure:
    """A measured value against its bound; `passed` is None when it could not be measured."""

    section: str
    subject: str
    value: str
    bound: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return NOT_MEASURABLE
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        columns = f"{self.section:<10} {self.subject:<34} {self.value:>26}  {self.bound:<13}"
        return f"{columns} {self.verdict}"


def not_measurable(section: str, subject: str, bound: str, reason: str) -> Figure:
    """A figure that could not be taken, with the reason in place of the value."""
    return Figure(section, subject, f"({reason})", bound, None)


def ratio_value(measured_ms: float, baseline_ms: float) -> str:
    """`412 / 380 ms = 1.08x`: both medians, so the ratio can be read in absolute terms too."""
    ratio = measured_ms / baseline_ms
    return f"{milliseconds(measured_ms)} / {milliseconds(baseline_ms)} ms = {ratio:.2f}x"


def milliseconds(value: float) -> str:
    """Three significant digits at most: 412, 16.1, 0.47."""
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"
