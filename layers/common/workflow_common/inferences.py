"""What a valid answer of the bicycle-vs-motorcycle model looks like."""

import json
from typing import Any

from workflow_common.errors import InvalidInference

# The order of the training .lst labels: 0 = bicycle (CIFAR-100 fine label 8), 1 = motorcycle (48).
CLASSES = ("bicycle", "motorcycle")
SUM_TOLERANCE = 0.01


def parse_inferences(value: Any) -> list[float]:
    """The two class probabilities, from a list or a JSON string of one (the course's habit)."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # bad JSON or UTF-8, huge numbers, deep nesting
            raise InvalidInference("inferences are not valid JSON") from None
    if not isinstance(value, list) or len(value) != len(CLASSES):
        raise InvalidInference(f"expected a list of {len(CLASSES)} numbers, got {value!r:.80}")
    if not all(_is_probability(p) for p in value):
        raise InvalidInference(f"inferences must be finite numbers in [0, 1], got {value!r:.80}")
    if abs(sum(value) - 1) > SUM_TOLERANCE:
        raise InvalidInference(f"inferences must sum to 1 ± {SUM_TOLERANCE}, got {sum(value):.4f}")
    return [float(p) for p in value]


def _is_probability(value: Any) -> bool:
    """A number in [0, 1]. The comparisons exclude NaN and infinities, and compare an int of
    any size exactly (math.isfinite(10**400) would raise OverflowError)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and 0 <= value <= 1
