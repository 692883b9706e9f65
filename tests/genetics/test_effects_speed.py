"""The scan's effects at peaks do each chromosome's shared work once, with the same numbers.

``translocus scan`` estimates ``scan1coef`` and ``scan1blup`` (with SEs) at each of its highest
peaks and ``scan1coef`` along the chromosome of the highest ones, each with the LOCO kinship of
the peak's chromosome. The reference here is that computation done peak by peak with the
public :func:`scan1coef` and :func:`scan1blup` (each call decomposing the kinship and fitting
the null model again): the estimates at the peaks must be equal to the last bit, those along
the chromosome (rotated once for the traits with the same individuals, then weighted per trait)
to rounding, while the kinship of a chromosome is decomposed once per set of individuals and
its stored probabilities read once. The shared rotation is also checked against generalised
least squares written out with the n x n covariance matrix.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.runs import RunLog
from translocus.core.simulate import simulate_cross
from translocus.core.store import Store
from translocus.genetics import lmm
from translocus.genetics.effects import EffectModel, scan1blup, scan1coef
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import scan
from translocus.pipelines import scan as scan_pipeline

MAP = "pos_cM"


@pytest.fixture(scope="module")
def study() -> dict[str, Any]:
    """A small DO: 3 traits (the third missing in 7 mice), LOCO kinship, the LMM scan."""
    cross = simulate_cross(cross_type="do", n=70, n_markers=240, seed=7, n_traits=3).cross
    alleles = genoprob_to_alleleprob(calc_genoprob(cross))
    pheno = cross.pheno.iloc[:, :3].copy()
    pheno.index = [str(i) for i in pheno.index]
    pheno.iloc[::10, 2] = np.nan
    kinship = calc_kinship(alleles, type="loco")
    result = scan(pheno, alleles, kinship=kinship)
    return {"alleles": alleles, "pheno": pheno, "kinship": kinship, "result": result}


def _peaks(result: Any, chroms: list[str]) -> pd.DataFrame:
    """Each trait's highest marker on each of ``chroms``: several traits on one chromosome."""
    lod = result.lod
    chrom_of = np.asarray(result.data.coords["chr"].values).astype(str)
    pos = np.asarray(result.data.coords[MAP].values, dtype=float)
    rows = []
    for index, trait in enumerate(result.traits):
        for chrom in chroms:
            on = np.flatnonzero(chrom_of == chrom)
            best = on[int(np.argmax(lod[trait].to_numpy()[on]))]
            rows.append({"lodindex": index + 1, "lodcolumn": trait, "chr": chrom,
                         "pos": pos[best], "lod": float(lod[trait].iloc[best]),
                         "ci_lo": pos[on].min(), "ci_hi": pos[on].max()})  # fmt: skip
    return pd.DataFrame(rows)


def _one_by_one(study: dict[str, Any], peaks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The effects at each peak from the public functions, a call per estimate."""
    result, pheno, alleles = study["result"], study["pheno"], study["alleles"]
    rows, along = [], []
    top = peaks.sort_values("lod", ascending=False, kind="stable")
    for rank, peak in enumerate(top.itertuples(index=False)):
        trait, chrom = str(peak.lodcolumn), str(peak.chr)
        marker = scan_pipeline._peak_marker(result, MAP, trait, chrom, float(peak.pos))
        kin = study["kinship"][chrom]
        arr = alleles[chrom]
        one = arr.sel(marker=[marker])
        for method, fit in (("coef", scan1coef(pheno[[trait]], one, kinship=kin)),
                            ("blup", scan1blup(pheno[[trait]], one, kinship=kin, se=True))):  # fmt: skip
            for name in (c for c in fit.columns if not str(c).startswith("SE_")):
                rows.append({"lodindex": int(peak.lodindex), "lodcolumn": trait, "chr": chrom,
                             "pos": float(peak.pos), "lod": float(peak.lod), "marker": marker,
                             "method": method, "coefficient": str(name),
                             "estimate": float(fit.iloc[0][name]),
                             "se": float(fit.iloc[0][f"SE_{name}"])})  # fmt: skip
        if rank < scan_pipeline.MAX_EFFECT_PLOTS:
            coef = scan1coef(pheno[[trait]], arr, kinship=kin)
            for name in alleles.alleles:
                along.append(pd.DataFrame({"marker": list(coef.index), "coefficient": name,
                                           "lodcolumn": trait, "chr": chrom,
                                           "estimate": coef[name].to_numpy(),
                                           "se": coef[f"SE_{name}"].to_numpy()}))  # fmt: skip
    return pd.DataFrame(rows), pd.concat(along, ignore_index=True)


def _run(study: dict[str, Any], peaks: pd.DataFrame, alleles: Any = None
         ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    return scan_pipeline._peak_effects(study["result"], peaks, study["pheno"],
                                       alleles or study["alleles"], study["kinship"], None, MAP,
                                       RunLog())  # fmt: skip


@pytest.fixture
def eighs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the eigendecompositions made; no decomposition kept between calls."""
    made: list[int] = []
    plain = np.linalg.eigh

    def counted(a: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        made.append(int(a.shape[0]))
        return plain(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "eigh", counted)
    monkeypatch.setattr(lmm, "_cache_put", lambda key, eig: None)
    lmm._EIGEN_CACHE.clear()
    return made


def test_peak_effects_equal_the_estimates_made_one_by_one(study, eighs):
    peaks = _peaks(study["result"], ["1", "4", "11"])
    at_peaks, along = _run(study, peaks)
    # each chromosome decomposed once for the 2 complete traits, once for the third's 63 mice
    assert sorted(eighs) == [63] * 3 + [70] * 3
    eighs.clear()
    rows, along_ref = _one_by_one(study, peaks)
    assert len(eighs) == 3 * len(peaks)  # one call per estimate: a decomposition each
    pd.testing.assert_frame_equal(at_peaks, rows, check_exact=True)
    assert np.isfinite(at_peaks["se"]).all()
    got = along[["marker", "coefficient", "lodcolumn", "chr", "estimate", "se"]]
    pd.testing.assert_frame_equal(got, along_ref, check_exact=False, rtol=1e-9, atol=1e-12)
    for column in ("estimate", "se"):  # to rounding: ~1e-15 of the values' scale
        scale = np.abs(along_ref[column]).max()
        assert np.abs(got[column] - along_ref[column]).max() < 1e-12 * scale


def test_stored_probabilities_read_once_per_chromosome(study, tmp_path: Path):
    store = Store(tmp_path / "probs")
    store.write_genoprobs("alleleprob", study["alleles"])
    lazy = store.read_genoprobs("alleleprob", lazy=True)
    peaks = _peaks(study["result"], ["2", "7"])
    at_peaks, along = _run(study, peaks, lazy)
    assert Counter(lazy.probs.reads) == Counter({"2": 1, "7": 1})
    expected, expected_along = _run(study, peaks)
    pd.testing.assert_frame_equal(at_peaks, expected, check_exact=True)
    pd.testing.assert_frame_equal(along, expected_along, check_exact=True)


def test_effect_model_is_fitted_once_for_many_estimates(study, eighs):
    arr = study["alleles"]["3"]
    kin = study["kinship"]["3"]
    pheno = study["pheno"].iloc[:, [2]]
    model = EffectModel.fit(pheno, arr, kinship=kin)
    assert eighs == [63] and model.hsq is not None and len(model.keep) == 63
    for positions in ([0], [1, 3], list(range(arr.sizes["marker"]))):
        some = arr.isel(marker=positions)
        pd.testing.assert_frame_equal(model.coef(some), scan1coef(pheno, some, kinship=kin),
                                      check_exact=True)  # fmt: skip
        blup = scan1blup(pheno, some, kinship=kin, se=True)
        ours = model.blup(some, se=True)
        pd.testing.assert_frame_equal(ours, blup, check_exact=True)
        assert ours.attrs["hsq_polygenic"] == blup.attrs["hsq_polygenic"] == model.hsq
    assert len(eighs) == 1 + 6


def _gls(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares with the covariance ``v`` written out: estimates and SEs."""
    vinv = np.linalg.inv(v)
    xvx = x.T @ vinv @ x
    beta = np.linalg.solve(xvx, x.T @ vinv @ y)
    resid = y - x @ beta
    sigmasq = float(resid @ vinv @ resid) / (x.shape[0] - x.shape[1])
    return beta, np.sqrt(np.diag(np.linalg.inv(xvx)) * sigmasq)


def test_rotation_shared_by_traits_is_generalised_least_squares(study):
    """Positions rotated once for two traits, each weighting by its h², against plain GLS."""
    arr = study["alleles"]["5"]
    kin = study["kinship"]["5"]
    decompositions: dict = {}
    first, second = (EffectModel.fit(study["pheno"].iloc[:, [j]], arr, kinship=kin,
                                     decompositions=decompositions) for j in (0, 1))  # fmt: skip
    assert first.eig is second.eig and first.hsq != second.hsq
    rotated = first.rotate(arr)
    samples = first.keep
    k2 = 2 * lmm.as_kinship_frame(kin).loc[samples, samples].to_numpy()
    geno = arr.sel(sample=samples).to_numpy()
    for model in (first, second):
        shared = model.coef(arr, rotated=rotated, zerosum=False)
        own = model.coef(arr, zerosum=False)
        scale = np.abs(own.to_numpy()).max()  # equal to rounding: ~1e-15 of the scale
        np.testing.assert_allclose(shared.to_numpy(), own.to_numpy(), rtol=1e-12,
                                   atol=1e-13 * scale)  # fmt: skip
        h = float(model.hsq)
        v = h * k2 + (1 - h) * np.eye(len(samples))
        for m in range(0, arr.sizes["marker"], 3):
            beta, se = _gls(geno[m], model.y, v)
            row = shared.iloc[m]
            np.testing.assert_allclose(row[list(arr.coords[arr.dims[2]].values)], beta,
                                       rtol=1e-8)  # fmt: skip
            np.testing.assert_allclose(row[[f"SE_{a}" for a in arr.coords[arr.dims[2]].values]],
                                       se, rtol=1e-8)  # fmt: skip


def test_effect_model_needs_the_probabilities_of_its_individuals(study):
    from translocus.core.errors import InputError

    arr = study["alleles"]["3"]
    model = EffectModel.fit(study["pheno"].iloc[:, [0]], arr)
    with pytest.raises(InputError, match="other individuals"):
        model.coef(arr.isel(sample=slice(0, 40)))
