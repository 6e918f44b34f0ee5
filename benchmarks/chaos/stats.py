"""Small statistics and a text plot for the campaigns' figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

BARS = " ▁▂▃▄▅▆▇█"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values), "min": round(min(values), 3), "p50": round(percentile(values, 0.5), 3),
        "p99": round(percentile(values, 0.99), 3), "max": round(max(values), 3),
    }


def sparkline(values: Sequence[float]) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(
        " " if math.isnan(v) else BARS[1 + round((v - low) / span * (len(BARS) - 2))] for v in values
    )
