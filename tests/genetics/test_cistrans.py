"""Local/distal classification of peaks and trans hotspots.

Distances and classes are checked on hand-made peaks (the gap between two intervals, by
hand); hotspot window counts against a direct count; the permutation threshold against its
closed form: with two chromosomes each one window long, the genome-wide maximum window count
of ``n`` uniform peaks is ``max(K, n - K)`` with ``K ~ Binomial(n, 1/2)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from translocus.core.errors import InputError, OptionError
from translocus.genetics.cistrans import chromosome_extents, classify_peaks, hotspots
from translocus.genetics.plot_eqtl import plot_cistrans, plot_hotspots


def _peaks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trait": ["overlap", "near", "far", "other", "none", "prefix", "no_ci"],
            "chr": ["1", "1", "1", "1", "2", "3", "4"],
            "pos": [10.0, 10.0, 10.0, 10.0, 5.0, 30.0, 50.0],
            "ci_lo": [9.0, 9.0, 9.0, 9.0, 4.0, 29.0, np.nan],
            "ci_hi": [11.0, 11.0, 11.0, 11.0, 6.0, 31.0, np.nan],
            "lod": [20.0, 8.0, 7.0, 6.5, 9.0, 10.0, 7.0],
            "gene_chr": ["1", "1", "1", "5", None, "chr3", "4"],
            "gene_start": [
                10_500_000,
                14_900_000,
                1_000_000,
                10_000_000,
                np.nan,
                20_000_000,
                55_000_000,
            ],  # fmt: skip
            "gene_end": [
                10_600_000,
                15_000_000,
                4_000_000,
                10_100_000,
                np.nan,
                25_000_000,
                56_000_000,
            ],  # fmt: skip
        }
    )


def test_distances_and_classes_by_hand() -> None:
    out = classify_peaks(_peaks(), peak_build="GRCm39", gene_build="grcm39")
    # overlap 0; gene 3.9 Mbp right of the interval; gene ending 5 Mbp left of it; the gene
    # on chr 5; no gene; 'chr3' is chromosome 3 (gap 29 - 25 = 4); no interval: the position
    expected = [0.0, 3.9, 5.0, np.nan, np.nan, 4.0, 5.0]
    np.testing.assert_allclose(out["distance"].to_numpy(dtype=float), expected, atol=1e-12)
    assert out["class"].tolist() == ["local", "local", "distal", "distal", "unannotated",
                                     "local", "distal"]  # fmt: skip
    wide = classify_peaks(_peaks(), window=5.0, peak_build="GRCm39", gene_build="GRCm39")
    assert wide["class"].tolist()[2] == "local"
    narrow = classify_peaks(_peaks(), window=0, peak_build="GRCm39", gene_build="GRCm39")
    assert narrow["class"].tolist()[:2] == ["local", "distal"]
    assert list(out.columns[:-2]) == list(_peaks().columns)  # the input's columns kept


def test_builds_must_agree() -> None:
    with pytest.raises(InputError, match="GRCm38.*GRCm39"):
        classify_peaks(_peaks(), peak_build="GRCm38", gene_build="GRCm39")
    with pytest.raises(OptionError, match="gene_build"):
        classify_peaks(_peaks(), peak_build="GRCm39", gene_build=None)
    with pytest.raises(OptionError, match="window=-1"):
        classify_peaks(_peaks(), window=-1, peak_build="GRCm39", gene_build="GRCm39")
    with pytest.raises(InputError, match="'ci_hi'"):
        classify_peaks(_peaks().drop(columns="ci_hi"), peak_build="GRCm39",
                       gene_build="GRCm39")  # fmt: skip


def _uniform(n: int, rng: np.random.Generator, length: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame({"trait": [f"u{i}" for i in range(n)],
                         "chr": rng.choice(["1", "2"], n),
                         "pos": rng.uniform(0, length, n), "class": "distal"})  # fmt: skip


def test_track_counts_equal_a_direct_count() -> None:
    rng = np.random.default_rng(3)
    peaks = _uniform(300, rng)
    peaks.loc[::7, "class"] = "local"  # not counted
    result = hotspots(peaks, chromosomes={"1": 100.0, "2": (0.0, 100.0)}, window=4.0,
                      step=1.5, n_perm=5)  # fmt: skip
    distal = peaks[peaks["class"] == "distal"]
    for row in result.track.itertuples():
        here = distal[(distal["chr"] == row.chr) & (distal["pos"] >= row.start)
                      & (distal["pos"] < row.end)]  # fmt: skip
        assert row.n_peaks == len(here)
    # windows cover each chromosome to its end
    ends = result.track.groupby("chr")["end"].max()
    assert (ends >= 100.0).all()
    assert result.n_peaks == len(distal)
    everything = hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, window=4.0, step=1.5,
                          n_perm=5, distal_only=False)  # fmt: skip
    assert everything.n_peaks == len(peaks)


def test_threshold_matches_the_binomial_closed_form() -> None:
    """Two chromosomes of one window each: max count is max(K, n-K), K ~ Bin(n, 1/2)."""
    n, alpha = 20, 0.05
    peaks = _uniform(n, np.random.default_rng(0), length=4.0)
    result = hotspots(peaks, chromosomes={"1": 4.0, "2": 4.0}, window=4.5, step=1.0,
                      n_perm=5000, alpha=alpha, seed=11)  # fmt: skip
    assert len(result.track) == 2
    values = np.arange(n // 2, n + 1)
    cdf = np.array([1 - 2 * stats.binom.sf(v, n, 0.5) for v in values])  # P(max <= v)
    exact = values[np.searchsorted(cdf, 1 - alpha)]
    assert exact == 14
    assert result.threshold == exact
    # the permutation maxima follow the distribution: P(max >= 15) = 2 P(K >= 15)
    assert abs(np.mean(result.max_counts >= 15) - 2 * stats.binom.sf(14, n, 0.5)) < 0.012


def test_a_planted_hotspot_is_found_and_nothing_else() -> None:
    rng = np.random.default_rng(5)
    background = _uniform(400, rng)
    planted = pd.DataFrame({"trait": [f"h{i}" for i in range(40)], "chr": "2",
                            "pos": rng.normal(62.0, 0.5, 40), "class": "distal"})  # fmt: skip
    peaks = pd.concat([background, planted], ignore_index=True)
    result = hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, n_perm=300, seed=1)
    assert len(result.hotspots) == 1
    spot = result.hotspots.iloc[0]
    assert spot["id"] == "H1" and spot["chr"] == "2"
    assert spot["start"] <= 62.0 <= spot["end"] and abs(spot["pos"] - 62.0) < 2.5
    assert {f"h{i}" for i in range(40)} <= set(spot["traits"])
    assert spot["n_peaks"] == len(spot["traits"])
    assert "uniform over the genome" in result.null
    # the same seed gives the same threshold
    again = hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, n_perm=300, seed=1)
    assert again.threshold == result.threshold
    fig = plot_hotspots(result)
    assert fig.axes[0].get_ylabel() == "peaks per 4 Mbp"


def test_null_over_markers_keeps_marker_density() -> None:
    # markers crowd 0-10 Mbp of chromosome 1: peaks piling up there are expected under this
    # null, so a pile that is a hotspot against the uniform genome is none against the markers
    markers = pd.DataFrame({"chr": ["1"] * 300 + ["1"] * 20 + ["2"] * 20,
                            "pos": np.r_[np.linspace(0, 10, 300), np.linspace(10.5, 100, 20),
                                         np.linspace(0, 100, 20)]})  # fmt: skip
    rng = np.random.default_rng(8)
    pick = rng.integers(0, len(markers), 200)
    peaks = pd.DataFrame({"trait": [f"t{i}" for i in range(200)],
                          "chr": markers["chr"].to_numpy()[pick],
                          "pos": markers["pos"].to_numpy()[pick], "class": "distal"})  # fmt: skip
    by_markers = hotspots(peaks, markers=markers, n_perm=200)
    by_length = hotspots(peaks, chromosomes=chromosome_extents(markers), n_perm=200)
    assert "over the markers" in by_markers.null
    assert by_markers.threshold > by_length.threshold
    assert len(by_length.hotspots) >= 1


def test_hotspot_options_are_checked() -> None:
    peaks = _uniform(10, np.random.default_rng(1))
    with pytest.raises(OptionError, match="markers"):
        hotspots(peaks)
    with pytest.raises(OptionError, match="alpha=1.5"):
        hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, alpha=1.5)
    with pytest.raises(OptionError, match="n_perm=0"):
        hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, n_perm=0)
    with pytest.raises(InputError, match="chromosomes 2"):
        hotspots(peaks, chromosomes={"1": 100.0})
    with pytest.raises(InputError, match="'class'"):
        hotspots(peaks.drop(columns="class"), chromosomes={"1": 100.0, "2": 100.0})


def test_cistrans_map_places_local_peaks_on_the_diagonal() -> None:
    out = classify_peaks(_peaks(), peak_build="GRCm39", gene_build="GRCm39")
    chromosomes = {str(c): 100.0 for c in range(1, 6)}
    fig = plot_cistrans(out, chromosomes=chromosomes)
    ax = fig.axes[0]
    points = ax.collections[0].get_offsets()
    assert len(points) == 6  # the peak without a gene is left out
    assert "1 peaks without a placed gene" in ax.get_title()
    xy = np.asarray(points)
    # the 'overlap' peak (chr 1 10 Mbp, gene at 10.5 Mbp) lies near the diagonal
    assert np.min(np.abs(xy[:, 0] - xy[:, 1])) < 1.0
