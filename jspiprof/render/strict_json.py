"""JSON that every parser reads: numbers that JSON cannot hold (NaN, Infinity) are written as null."""

from __future__ import annotations

import json
import math
from typing import Any, TextIO


def finite(value: Any) -> Any:
    """`value` with every float that is not finite (in dicts, lists and tuples, at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps(value)`, strict: NaN and infinities written as null, never as the `NaN` that JSON does not have."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:  # a number JSON cannot hold: rare, so only then is the value walked
        return json.dumps(finite(value), allow_nan=False, **options)


def dump(value: Any, out: TextIO, **options: Any) -> None:
    """`dumps(value)` written to `out`."""
    out.write(dumps(value, **options))
