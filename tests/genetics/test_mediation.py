"""Mediation scan against an independent implementation.

Haley-Knott: plain least squares (``numpy.linalg.lstsq``) of the target on the covariates and
the QTL's probabilities, without and with each mediator, on that mediator's complete cases.
LMM: h² maximised by scipy over a direct REML likelihood with ``V = h 2K + (1 - h) I``, and the
LOD by generalised least squares with ``V`` at the h² the scan reports. A simulated chain
``QTL -> mediator -> target`` ranks the planted mediator first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import optimize

from translocus.core.errors import InputError, OptionError
from translocus.core.threads import blas_threads
from translocus.genetics.effects import fit1
from translocus.genetics.mediation import hotspot_mediation, mediation_scan
from translocus.genetics.plot_eqtl import plot_mediation


def _data(seed: int = 4, n: int = 150, n_med: int = 6):
    rng = np.random.default_rng(seed)
    ids = [f"m{i:03d}" for i in range(n)]
    probs = pd.DataFrame(rng.dirichlet([0.6] * 4, n), index=ids, columns=list("ABCD"))
    sex = pd.DataFrame({"sex": rng.integers(0, 2, n).astype(float)}, index=ids)
    effect = probs.to_numpy() @ np.array([1.5, 0.0, -0.5, 0.8])
    meds = {"mediator": effect + rng.normal(0, 0.4, n)}
    for k in range(1, n_med):
        meds[f"f{k}"] = 0.3 * k * effect * (k % 2) + rng.normal(0, 1, n)
    mediators = pd.DataFrame(meds, index=ids)
    mediators.iloc[[3, 10, 20], 2] = np.nan  # a mediator missing in three individuals
    y = pd.Series(0.9 * mediators["mediator"] + 0.4 * sex["sex"] + rng.normal(0, 0.5, n),
                  index=ids, name="target")  # fmt: skip
    y.iloc[7] = np.nan
    return y, probs, sex, mediators


def _lstsq_lod(y: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> float:
    def rss(x: np.ndarray) -> float:
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        return float(np.sum((y - x @ beta) ** 2))

    return len(y) / 2 * np.log10(rss(x0) / rss(x1))


def test_hk_equals_plain_least_squares() -> None:
    y, probs, sex, mediators = _data()
    result = mediation_scan(y, probs, mediators, addcovar=sex)
    assert result.method == "hk"
    assert result.n_samples == 149 and result.n_dropped == 1
    assert result.n_incomplete == 1
    table = result.table.set_index("mediator")
    for name in mediators.columns:
        ok = y.notna() & mediators[name].notna()
        yy = y[ok].to_numpy()
        q, c, m = probs[ok].to_numpy(), sex[ok].to_numpy(), mediators.loc[ok, [name]].to_numpy()
        one = np.ones((len(yy), 1))
        lod = _lstsq_lod(yy, np.hstack([one, c]), np.hstack([q, c]))
        mediated = _lstsq_lod(yy, np.hstack([one, c, m]), np.hstack([q, c, m]))
        assert table.loc[name, "n"] == ok.sum()
        assert table.loc[name, "lod"] == pytest.approx(lod, abs=1e-10)
        assert table.loc[name, "lod_mediated"] == pytest.approx(mediated, abs=1e-10)
        assert table.loc[name, "lod_drop"] == pytest.approx(lod - mediated, abs=1e-10)
        assert np.isnan(table.loc[name, "hsq"])
    # the LOD without a mediator is the one fit1 gives at the QTL
    complete = y.dropna().index
    single = fit1(y[complete].to_frame(), xr.DataArray(probs.loc[complete], dims=("sample", "allele")),
               addcovar=sex.loc[complete])  # fmt: skip
    assert table.loc["mediator", "lod"] == pytest.approx(single.lod, abs=1e-10)
    assert result.table["rank"].tolist() == list(range(1, len(mediators.columns) + 1))
    assert result.table["mediator"].iloc[0] == "mediator"
    assert np.all(np.diff(result.table["lod_drop"].to_numpy()) <= 0)


def _kinship(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.dirichlet([0.5] * 8, size=(n, 200)).reshape(n, -1)
    return (g @ g.T) / 200


def _reml(y: np.ndarray, x: np.ndarray, k2: np.ndarray) -> float:
    """h² maximising the REML likelihood of y ~ X with V = h 2K + (1 - h) I."""
    n, p = x.shape

    def negll(h: float) -> float:
        v = h * k2 + (1 - h) * np.eye(n)
        vi = np.linalg.inv(v)
        xvx = x.T @ vi @ x
        beta = np.linalg.solve(xvx, x.T @ vi @ y)
        r = y - x @ beta
        sigma = float(r @ vi @ r) / (n - p)
        return 0.5 * ((n - p) * np.log(sigma) + np.linalg.slogdet(v)[1]
                      + np.linalg.slogdet(xvx)[1])  # fmt: skip

    with blas_threads(1):  # small matrices: a busy thread pool only thrashes
        fit = optimize.minimize_scalar(negll, bounds=(0, 1), method="bounded",
                                       options={"xatol": 1e-9})  # fmt: skip
    return float(fit.x)


def _gls_lod(y: np.ndarray, x0: np.ndarray, x1: np.ndarray, k2: np.ndarray, h: float) -> float:
    vi = np.linalg.inv(h * k2 + (1 - h) * np.eye(len(y)))

    def rss(x: np.ndarray) -> float:
        beta = np.linalg.pinv(x.T @ vi @ x) @ (x.T @ vi @ y)
        r = y - x @ beta
        return float(r @ vi @ r)

    with blas_threads(1):
        return len(y) / 2 * np.log10(rss(x0) / rss(x1))


def test_lmm_equals_direct_gls_at_the_reml_heritability() -> None:
    y, probs, sex, mediators = _data(seed=9, n=120, n_med=4)
    ids = list(y.index)
    kin = pd.DataFrame(_kinship(len(ids), 2), index=ids, columns=ids)
    result = mediation_scan(y, probs, mediators, addcovar=sex, kinship={"7": kin},
                            at=("7", 50.0))  # fmt: skip
    assert result.method == "lmm"
    table = result.table.set_index("mediator")
    for name in mediators.columns:
        ok = (y.notna() & mediators[name].notna()).to_numpy()
        keep = [i for i, flag in zip(ids, ok, strict=True) if flag]
        yy = y[keep].to_numpy()
        k2 = 2 * kin.loc[keep, keep].to_numpy()
        q, c, m = (
            probs.loc[keep].to_numpy(),
            sex.loc[keep].to_numpy(),
            mediators.loc[keep, [name]].to_numpy(),
        )
        one = np.ones((len(yy), 1))
        h = table.loc[name, "hsq"]
        hm = table.loc[name, "hsq_mediated"]
        assert h == pytest.approx(_reml(yy, np.hstack([one, c]), k2), abs=1e-5)
        assert hm == pytest.approx(_reml(yy, np.hstack([one, c, m]), k2), abs=1e-5)
        lod = _gls_lod(yy, np.hstack([one, c]), np.hstack([q, c]), k2, h)
        mediated = _gls_lod(yy, np.hstack([one, c, m]), np.hstack([q, c, m]), k2, hm)
        assert table.loc[name, "lod"] == pytest.approx(lod, abs=1e-8)
        assert table.loc[name, "lod_mediated"] == pytest.approx(mediated, abs=1e-8)
    # the same LOD as fit1 with this kinship
    complete = y.dropna().index
    one_fit = fit1(y[complete].to_frame(),
                   xr.DataArray(probs.loc[complete], dims=("sample", "allele")),
                   kinship=kin.loc[complete, complete], addcovar=sex.loc[complete])  # fmt: skip
    assert table.loc["mediator", "lod"] == pytest.approx(one_fit.lod, abs=1e-8)
    assert table.loc["mediator", "hsq"] == pytest.approx(one_fit.hsq, abs=1e-10)
    assert result.table["mediator"].iloc[0] == "mediator"


def test_the_planted_mediator_ranks_first_among_many() -> None:
    """QTL -> mediator -> target, with decoys of their own local QTL at the same position."""
    rng = np.random.default_rng(21)
    n = 300
    ids = [f"s{i}" for i in range(n)]
    probs = pd.DataFrame(rng.dirichlet([0.5] * 8, n), index=ids, columns=list("ABCDEFGH"))
    effect = probs.to_numpy() @ rng.normal(0, 1, 8)
    effect = (effect - effect.mean()) / effect.std()
    meds = {f"g{k:03d}": rng.normal(0, 1, n) for k in range(200)}
    for k in range(5):  # co-located genes driven by the same QTL but not by the target's path
        meds[f"g{k:03d}"] = effect + rng.normal(0, 0.5, n)
    meds["g150"] = effect + rng.normal(0, 0.5, n)  # the planted mediator
    mediators = pd.DataFrame(meds, index=ids)
    y = pd.Series(mediators["g150"] + rng.normal(0, 0.6, n), index=ids, name="clinical")
    features = pd.DataFrame({"symbol": [f"Gene{k}" for k in range(len(meds))],
                             "chr": ["4"] * 100 + ["9"] * (len(meds) - 100),
                             "start": rng.integers(1, 150, len(meds)) * 1_000_000,
                             "end": 0}, index=list(meds))  # fmt: skip
    features["end"] = features["start"] + 20_000
    features.loc["g150", ["chr", "start", "end"]] = ["9", 60_000_000, 60_050_000]
    result = mediation_scan(y, probs, mediators, features=features)
    assert result.table["mediator"].iloc[0] == "g150"
    assert result.table["symbol"].iloc[0] == features.loc["g150", "symbol"]
    # with the mediator in the model the QTL is gone; with a co-located decoy it is not
    table = result.table.set_index("mediator")
    assert table.loc["g150", "lod_mediated"] < 2.0
    assert table.loc[[f"g{k:03d}" for k in range(5)], "lod_mediated"].min() > 5.0
    ids_kin = pd.DataFrame(_kinship(n, 3), index=ids, columns=ids)
    lmm = mediation_scan(y, probs, mediators, kinship=ids_kin, features=features)
    assert lmm.table["mediator"].iloc[0] == "g150"
    # a window around the QTL keeps the candidates there, g150 among them
    near = mediation_scan(y, probs, mediators, features=features, at=("9", 61.0), window=5.0)
    kept = features[(features["chr"] == "9")
                    & (features["end"] / 1e6 >= 56.0) & (features["start"] / 1e6 <= 66.0)]  # fmt: skip
    assert set(near.table["mediator"]) == set(kept.index)
    assert near.table["mediator"].iloc[0] == "g150" and near.n_candidates == len(kept)
    fig = plot_mediation(result.table, at=("9", 60.0))
    assert fig.axes[0].get_xlabel() == "mediator position (chromosome)"
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert features.loc["g150", "symbol"] in texts and len(texts) == 10


def test_hotspot_mediation_summaries() -> None:
    rng = np.random.default_rng(6)
    n = 160
    ids = [f"s{i}" for i in range(n)]
    probs = pd.DataFrame(rng.dirichlet([1] * 4, n), index=ids, columns=list("ABCD"))
    hub = probs.to_numpy() @ np.array([2.0, 0, 0, -1]) + rng.normal(0, 0.3, n)
    candidates = pd.DataFrame({"hub": hub, "x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n)},
                              index=ids)  # fmt: skip
    targets = pd.DataFrame({f"t{k}": 0.8 * hub + rng.normal(0, 0.6, n) for k in range(6)},
                           index=ids)  # fmt: skip
    result = hotspot_mediation(targets, probs, candidates)
    assert result.table["mediator"].iloc[0] == "hub"
    assert result.table["n_top"].iloc[0] == 6 and result.table["n_top"].sum() == 6
    for row in result.table.itertuples():
        drops = [mediation_scan(targets[t], probs, candidates).table.set_index("mediator")
                 .loc[row.mediator, "lod_drop"] for t in targets.columns]  # fmt: skip
        assert row.median_drop == pytest.approx(np.median(drops), abs=1e-12)
        assert row.mean_drop == pytest.approx(np.mean(drops), abs=1e-12)
        assert row.n_targets == 6


def test_bad_inputs() -> None:
    y, probs, sex, mediators = _data()
    with pytest.raises(OptionError, match="window=5.0: a window needs the QTL's position"):
        mediation_scan(y, probs, mediators, window=5.0)
    with pytest.raises(OptionError, match="features"):
        mediation_scan(y, probs, mediators, window=5.0, at=("1", 3.0))
    other = probs.copy()
    other.index = [f"x{i}" for i in range(len(other))]
    with pytest.raises(InputError, match="only 0 individuals have target"):
        mediation_scan(y, other, mediators)
    with pytest.raises(OptionError, match="LOCO"):
        mediation_scan(y, probs, mediators, kinship={"1": None})


def test_planted_hotspots_are_found_and_their_mediators_rank_first() -> None:
    """A simulated DO study (core.simulate_molecular): eQTL scan, cis/trans, hotspots, mediation.

    Two mediator genes each drive 40-60 genes on other chromosomes; every planted hotspot is
    found near its mediator's position (within the marker spacing) and no other, and over the
    traits with a distal peak there the planted mediator has the largest median LOD drop.
    """
    from translocus.core.simulate_molecular import simulate_expression
    from translocus.genetics.cistrans import classify_peaks, hotspots
    from translocus.genetics.eqtl import eqtl_scan
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob

    sim = simulate_expression(n=400, n_markers=2000, n_genes=600, n_hotspots=2,
                              hotspot_targets=(40, 60), trans_variance=(0.08, 0.15), seed=5)  # fmt: skip
    cross = sim.cross.cross
    assert cross.pmap is not None
    physical = cross.pmap
    alleles = genoprob_to_alleleprob(calc_genoprob(cross, map_function="c-f"))
    peaks = eqtl_scan(sim.expression, alleles, effects=False).peaks
    genes = sim.features.reindex(peaks["trait"])
    for column in ("chr", "start", "end"):
        peaks[f"gene_{column}"] = genes[column].to_numpy()
    peaks = classify_peaks(peaks, peak_build="GRCm39", gene_build="GRCm39")
    markers = pd.concat([pd.DataFrame({"chr": c, "pos": physical[c].to_numpy()})
                         for c in cross.chromosomes])  # fmt: skip
    found = hotspots(peaks, markers=markers, n_perm=200, seed=1).hotspots
    assert len(found) == len(sim.hotspots) == 2
    for planted in sim.hotspots.itertuples():
        here = found[(found["chr"] == str(planted.chr)) & (found["start"] - 5 <= planted.pos)
                     & (found["end"] + 5 >= planted.pos)]  # fmt: skip
        assert len(here) == 1, planted
        spot = here.iloc[0]
        pmap = physical[spot["chr"]]
        marker = pmap.index[int(np.argmin(np.abs(pmap.to_numpy() - spot["pos"])))]
        at = alleles[spot["chr"]].sel(marker=marker)
        q = pd.DataFrame(at.values, index=[str(s) for s in at.coords["sample"].values])
        targets = list(spot["traits"])
        result = hotspot_mediation(sim.expression[targets], q,
                                   sim.expression.drop(columns=targets), features=sim.features,
                                   window=10.0, at=(spot["chr"], spot["pos"]))  # fmt: skip
        top = result.table.iloc[0]
        assert top["mediator"] == planted.mediator
        assert top["n_top"] >= 0.8 * len(targets)
