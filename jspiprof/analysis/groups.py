"""Rows grouped by a key, reduced with numpy: the group-bys of the analysis, without the fixed cost of a pandas groupby
(about a millisecond per call, most of a small trace's report).

Sums do not gather rounding errors row after row (`sums_at`); quantiles interpolate linearly between the sorted
values of a group, as pandas does (the p50 of 10, 20, 30 and 40 is 25).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

FEW_GROUPS = 64
"""Up to this many groups, quantiles select their values (np.partition) instead of sorting all of them."""


@dataclass(frozen=True)
class Groups:
    """Rows grouped by integer keys: `order` lists the rows group after group (in row order within a group), `starts`
    where each group begins in `order`, `keys` the key of each group; groups come in the order of their keys."""

    order: np.ndarray
    starts: np.ndarray
    keys: np.ndarray

    @classmethod
    def by(cls, keys: np.ndarray) -> Groups:
        """The rows grouped by `keys` (integers); rows with a negative key are in no group."""
        if len(keys) and keys.dtype.itemsize > 2 and -(2**15) <= keys.min() and keys.max() < 2**15:
            keys = keys.astype(np.int16)  # a stable sort of 16-bit integers is a radix sort: ten times quicker
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        if len(order) and sorted_keys[0] < 0:
            kept = np.searchsorted(sorted_keys, 0)
            order, sorted_keys = order[kept:], sorted_keys[kept:]
        starts = (
            np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
            if len(order)
            else np.empty(0, dtype=np.intp)
        )
        return cls(order, starts, sorted_keys[starts])

    @classmethod
    def by_column(cls, column: Any, name: str) -> tuple[Groups, pd.Index]:
        """The rows grouped by the values of `column` (an array; missing values in no group), and the value of each
        group, as an index named `name`: a categorical column's codes are its keys."""
        if isinstance(column, pd.Categorical):
            groups = cls.by(column.codes)
            return groups, pd.CategoricalIndex(pd.Categorical.from_codes(groups.keys, dtype=column.dtype), name=name)
        codes, values = pd.factorize(column, sort=True)
        groups = cls.by(codes)
        return groups, pd.Index(values, name=name)[groups.keys]

    @classmethod
    def in_order_of_appearance(cls, keys: np.ndarray) -> Groups:
        """The rows grouped by `keys` (integers), the groups in the order of their first row (numbered 0, 1, ...)."""
        return cls.by(pd.factorize(keys)[0])

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def sizes(self) -> np.ndarray:
        """The number of rows of each group."""
        return np.diff(self.starts, append=len(self.order))

    def first_rows(self) -> np.ndarray:
        """The first row of each group."""
        return self.order[self.starts]

    def sum(self, values: np.ndarray) -> np.ndarray:
        return sums_at(values[self.order], self.starts)

    def mean(self, values: np.ndarray) -> np.ndarray:
        return self.sum(values) / self.sizes

    def max(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values[self.order], self.starts) if len(self) else values[:0]

    def min(self, values: np.ndarray) -> np.ndarray:
        return np.minimum.reduceat(values[self.order], self.starts) if len(self) else values[:0]

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """`values` in group order, sorted within each group."""
        grouped = values[self.order]
        by_value = np.argsort(grouped)
        group = np.repeat(np.arange(len(self), dtype=np.int16 if len(self) <= 2**15 else np.int64), self.sizes)
        by_group = np.argsort(group[by_value], kind="stable")  # a stable sort of 16-bit keys is a radix sort
        return grouped[by_value[by_group]]

    def quantiles(self, values: np.ndarray, qs: list[float]) -> list[np.ndarray]:
        """For each of `qs`, that quantile of `values` in each group."""
        sizes = self.sizes
        positions = [q * (sizes - 1).astype(np.float64) for q in qs]
        lows = [np.floor(position).astype(np.intp) for position in positions]
        highs = [np.minimum(low + 1, sizes - 1) for low in lows]
        if len(self) <= FEW_GROUPS:
            # each group's values brought to their sorted places only where the quantiles need them
            ordered = np.asarray(values[self.order], dtype=np.float64)
            for group, (start, size) in enumerate(zip(self.starts.tolist(), sizes.tolist())):
                ranks = sorted({int(rank[group]) for rank in (*lows, *highs)})
                ordered[start : start + size].partition(ranks)
        else:
            ordered = self.sorted(values).astype(np.float64)
        result = []
        for position, low, high in zip(positions, lows, highs):
            fraction = position - low
            below, above = ordered[self.starts + low], ordered[self.starts + high]
            result.append(np.where(fraction > 0, below + (above - below) * fraction, below))
        return result


def rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of `wanted`, the row of `ids` (distinct) that holds it, or -1."""
    if not len(ids):
        return np.full(len(wanted), -1)
    order = np.argsort(ids)
    at = order[np.minimum(np.searchsorted(ids, wanted, sorter=order), len(ids) - 1)]
    return np.where(ids[at] == wanted, at, -1)


def sums_at(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sums of the runs of `values` that begin at `starts` (as `np.add.reduceat`), floats summed without
    losing the last bits: 0.1 µs steps add up to 7357.5 µs, not 7357.499999999999.

    Each float is split into a high part, a multiple of a step so coarse that their sums are exact, and the exact
    small rest, summed last (the "extract" step of Rump, Ogita and Oishi's AccSum).
    """
    if not len(starts):
        return values[:0]
    if values.dtype.kind != "f":
        return np.add.reduceat(values, starts)
    largest = float(np.abs(values).max())
    if not np.isfinite(largest) or largest == 0:
        return np.add.reduceat(values, starts)
    longest = int(np.diff(starts, append=len(values)).max())
    # every partial sum of high parts stays below the step
    step = 2.0 ** (np.ceil(np.log2(largest)) + np.ceil(np.log2(longest + 1)))
    high = (values + step) - step
    return np.add.reduceat(high, starts) + np.add.reduceat(values - high, starts)
