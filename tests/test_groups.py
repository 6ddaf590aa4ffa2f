"""`Groups` reduces rows grouped by a key with numpy and gives what pandas' groupby gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jspiprof.analysis import groups as groups_module
from jspiprof.analysis.groups import Groups, rows_of
from jspiprof.analysis.stats import wait_stats


@pytest.fixture
def rows() -> pd.DataFrame:
    """2,000 rows in 37 groups of very different sizes (some of one row), with ties among the values."""
    rng = np.random.default_rng(7)
    key = (rng.pareto(1.0, 2000) * 3).astype(np.int64) % 37
    return pd.DataFrame({"key": key, "value": rng.integers(0, 50, 2000) * 0.5, "count": rng.integers(0, 9, 2000)})


def test_sums_means_extremes_and_sizes_are_pandas_ones(rows: pd.DataFrame) -> None:
    groups = Groups.by(rows["key"].to_numpy())
    expected = rows.groupby("key")["value"].agg(["size", "sum", "mean", "max", "min"])
    assert list(groups.keys) == list(expected.index)
    values = rows["value"].to_numpy()
    assert list(groups.sizes) == list(expected["size"])
    for name in ("sum", "mean", "max", "min"):
        assert getattr(groups, name)(values) == pytest.approx(expected[name].to_numpy(), rel=1e-12)
    assert groups.max(rows["count"].to_numpy()).dtype == np.int64


def test_sums_are_the_correctly_rounded_sums_of_each_group() -> None:
    """Times in 0.1 µs steps (not binary fractions) summed row after row drift from the true sum; these do not."""
    rng = np.random.default_rng(3)
    key = rng.integers(0, 20, 20_000)
    values = np.round(rng.lognormal(7.6, 1.0, 20_000), 1)
    groups = Groups.by(key)
    assert list(groups.sum(values)) == [math.fsum(values[key == k]) for k in groups.keys]


def test_quantiles_interpolate_as_pandas_does(rows: pd.DataFrame) -> None:
    groups = Groups.by(rows["key"].to_numpy())
    qs = [0.0, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]
    expected = rows.groupby("key")["value"].quantile(qs).unstack()
    for q, got in zip(qs, groups.quantiles(rows["value"].to_numpy(), qs)):
        assert list(got) == list(expected[q])  # the same arithmetic: equal to the last bit


def test_quantiles_of_many_groups_sorted_are_those_of_few_groups_selected(
    rows: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups, values, qs = Groups.by(rows["key"].to_numpy()), rows["value"].to_numpy(), [0.0, 0.5, 0.75, 0.99, 1.0]
    selected = groups.quantiles(values, qs)
    monkeypatch.setattr(groups_module, "FEW_GROUPS", 0)  # as if the 37 groups were too many: every value sorted
    assert [list(q) for q in groups.quantiles(values, qs)] == [list(q) for q in selected]


def test_the_median_of_four_values_lies_halfway_between_the_middle_two() -> None:
    (median,) = Groups.by(np.zeros(4, dtype=np.int64)).quantiles(np.array([40.0, 10.0, 30.0, 20.0]), [0.5])
    assert list(median) == [25.0]


def test_rows_with_a_negative_key_are_in_no_group() -> None:
    groups = Groups.by(np.array([2, -1, 0, 2, -1]))
    assert list(groups.keys) == [0, 2] and list(groups.sizes) == [1, 2] and list(groups.order) == [2, 0, 3]


def test_groups_in_order_of_appearance_number_the_keys_by_their_first_row() -> None:
    groups = Groups.in_order_of_appearance(np.array([9, 4, 9, 7, 4]))
    assert list(groups.keys) == [0, 1, 2] and list(groups.first_rows()) == [0, 1, 3] and list(groups.sizes) == [2, 2, 1]


def test_a_column_gives_groups_and_the_value_of_each() -> None:
    column = pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"])
    groups, labels = Groups.by_column(column, "site")
    assert list(labels) == ["a", "b"] and labels.name == "site" and list(groups.sizes) == [1, 2]
    groups, labels = Groups.by_column(np.array([5, 3, 5]), "entry")
    assert list(labels) == [3, 5] and list(groups.sizes) == [1, 2]


def test_rows_of_finds_each_wanted_id_or_minus_one() -> None:
    assert list(rows_of(np.array([30, 10, 20]), np.array([20, 40, 30, 10]))) == [2, -1, 0, 1]
    assert list(rows_of(np.array([], dtype=np.int64), np.array([1]))) == [-1]


def test_wait_stats_are_pandas_groupby_numbers_largest_total_first(rows: pd.DataFrame) -> None:
    s = pd.DataFrame(
        {
            "site": pd.Categorical(rows["key"].map("s{}".format)),
            "wait_us": rows["value"],
            "resume_us": rows["value"] / 3,
            "depth": rows["count"],
            "stack_bytes": rows["count"] * 1024,
        }
    )
    table = wait_stats(s, "site")
    groups = s.groupby("site", observed=True, sort=False)
    expected = pd.DataFrame(
        {
            "count": groups.size(),
            "wait_total_us": groups["wait_us"].sum(),
            "wait_mean_us": groups["wait_us"].mean(),
            "wait_p50_us": groups["wait_us"].quantile(0.5),
            "wait_p95_us": groups["wait_us"].quantile(0.95),
            "wait_p99_us": groups["wait_us"].quantile(0.99),
            "wait_max_us": groups["wait_us"].max(),
            "resume_total_us": groups["resume_us"].sum(),
            "resume_mean_us": groups["resume_us"].mean(),
            "depth_mean": groups["depth"].mean(),
            "depth_max": groups["depth"].max(),
            "stack_bytes_mean": groups["stack_bytes"].mean(),
            "stack_bytes_max": groups["stack_bytes"].max(),
        }
    ).sort_values(["wait_total_us", "count"], ascending=False, kind="stable")
    pd.testing.assert_frame_equal(table, expected, rtol=1e-12)


def test_keys_sorted_as_16_bit_integers_group_as_wide_ones() -> None:
    """Rows keep their order within a group whether the keys sort as 16-bit integers (radix) or not."""
    keys = np.random.default_rng(5).integers(0, 50, 5000)
    narrow, wide = Groups.by(keys), Groups.by(keys * 2**20)
    assert list(narrow.order) == list(wide.order) == list(np.argsort(keys, kind="stable"))
    assert list(narrow.starts) == list(wide.starts)
