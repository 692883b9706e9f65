"""``eqtl_scan``: many traits in chunks give what ``scan`` gives, reduced to peaks and maxima.

- Peaks, support intervals, h² and maxima equal ``scan`` + ``find_peaks`` on the same traits
  (to 1e-12 LOD), however the traits are chunked, for Haley-Knott and LMM LOCO, with missing
  values; allele effects equal ``scan1coef`` at the peak marker.
- The kept LODs (``keep_lod``) give one trait's profile equal to the scan's.
- A run stopped after some chunks and started again with its checkpoint takes those chunks
  from it and ends with the same result as an uninterrupted run.
- Pooled permutation thresholds: rank-normalised traits with no missing values have one
  null distribution of the genome-wide maximum (Haley-Knott), so the pooled threshold of a
  few permuted traits agrees with full permutations of another trait (Monte Carlo error).
- A two-worker Dask cluster gives the single-process result.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError, OptionError
from translocus.core.simulate import simulate_cross
from translocus.genetics.effects import scan1coef
from translocus.genetics.eqtl import eqtl_scan, read_lod, trait_chunks
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.peaks import find_peaks
from translocus.genetics.scan import scan

TOL = 1e-12


@pytest.fixture(scope="module")
def study() -> dict:
    sim = simulate_cross(cross_type="do", n=120, n_markers=600, seed=5, n_traits=24,
                         qtl_variance=0.5)  # fmt: skip
    probs = sim.true_allele_probs()
    ids = [str(s) for s in probs.samples]
    pheno = sim.cross.pheno.copy()
    pheno.index = [str(i) for i in pheno.index]
    pheno = pheno.loc[ids]
    pheno.iloc[:4, 3] = np.nan
    pheno.iloc[10:12, 7:10] = np.nan
    sex = pd.DataFrame({"sex": (sim.cross.covar.loc[ids, "Sex"] == "male").astype(float)})
    sex.index = ids
    return {"probs": probs, "pheno": pheno, "sex": sex,
            "loco": calc_kinship(probs, type="loco")}  # fmt: skip


def _reference(study: dict, kinship, threshold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = scan(study["pheno"], study["probs"], kinship=kinship, addcovar=study["sex"])
    peaks = find_peaks(res, map_name="pos_Mbp", threshold=threshold, drop=1.5)
    return res.lod, peaks


@pytest.mark.parametrize("model", ["hk", "loco"])
@pytest.mark.parametrize("chunk", [5, 64])
def test_equals_scan(study: dict, model: str, chunk: int) -> None:
    kin = None if model == "hk" else study["loco"]
    lod, ref = _reference(study, kin, 4.0)
    got = eqtl_scan(study["pheno"], study["probs"], kinship=kin, addcovar=study["sex"],
                    threshold=4.0, chunk_traits=chunk, effects=False)  # fmt: skip
    assert got.info["chunks"] == len(trait_chunks(24, 600, chunk))
    assert len(got.peaks) == len(ref) > 5
    key = ["trait", "chr", "pos"]
    ref = ref.rename(columns={"lodcolumn": "trait"}).sort_values(key).reset_index(drop=True)
    mine = got.peaks.sort_values(key).reset_index(drop=True)
    for col in ("lod", "pos", "ci_lo", "ci_hi"):
        np.testing.assert_allclose(mine[col], ref[col], rtol=0, atol=TOL)
    assert list(mine["chr"]) == list(ref["chr"].astype(str))
    # each peak marker carries the peak's LOD
    for row in mine.itertuples():
        assert abs(lod.at[row.marker, row.trait] - row.lod) <= TOL
    best = got.max_lod.set_index("trait")
    np.testing.assert_allclose(best.loc[lod.columns, "lod"], lod.max(), rtol=0, atol=TOL)
    assert list(best.loc[lod.columns, "marker"]) == list(lod.idxmax())
    if model == "loco":
        assert mine["hsq"].between(0, 1).all()
    else:
        assert mine["hsq"].isna().all()


@pytest.mark.parametrize("model", ["hk", "loco"])
def test_effects_are_scan1coef(study: dict, model: str) -> None:
    kin = None if model == "hk" else study["loco"]
    got = eqtl_scan(study["pheno"], study["probs"], kinship=kin, addcovar=study["sex"],
                    threshold=4.0)  # fmt: skip
    assert got.peaks["trait"].isin(["trait4", "trait8"]).any()  # traits with missing values
    alleles = list(study["probs"].alleles)
    for row in got.peaks.itertuples():
        arr = study["probs"][row.chr].sel(marker=[row.marker])
        fit = scan1coef(study["pheno"][[row.trait]], arr,
                        kinship=None if kin is None else kin[row.chr],
                        addcovar=study["sex"]).iloc[0]  # fmt: skip
        for a in alleles:
            assert getattr(row, f"coef_{a}") == pytest.approx(fit[a], abs=1e-10)
            assert getattr(row, f"se_{a}") == pytest.approx(fit[f"SE_{a}"], abs=1e-10)


def test_kept_lod_profile(study: dict, tmp_path) -> None:
    store = tmp_path / "lod.zarr"
    eqtl_scan(study["pheno"], study["probs"], threshold=4.0, chunk_traits=5, keep_lod=store,
              effects=False)  # fmt: skip
    lod = scan(study["pheno"], study["probs"]).lod
    for trait in ("trait3", "trait24"):
        got = read_lod(store, trait)
        np.testing.assert_allclose(got.reindex(lod.index), lod[trait], rtol=0, atol=TOL)
    with pytest.raises(InputError, match="no trait"):
        read_lod(store, "nope")
    with pytest.raises(OptionError, match="keep_lod"):
        eqtl_scan(study["pheno"], study["probs"], keep_lod=store)


def test_resume_from_checkpoint(study: dict, tmp_path) -> None:
    folder = tmp_path / "ckpt"
    args = {"threshold": 4.0, "chunk_traits": 5, "effects": False, "addcovar": study["sex"]}
    whole = eqtl_scan(study["pheno"], study["probs"], **args)
    seen: list[int] = []

    def stop_after_two(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        eqtl_scan(study["pheno"], study["probs"], checkpoint=folder, progress=stop_after_two,
                  **args)  # fmt: skip
    again = eqtl_scan(study["pheno"], study["probs"], checkpoint=folder, **args)
    assert again.info["chunks_resumed"] == 2
    pd.testing.assert_frame_equal(again.peaks, whole.peaks)
    pd.testing.assert_frame_equal(again.max_lod, whole.max_lod)
    # other options: the earlier chunks are not taken
    other = eqtl_scan(study["pheno"], study["probs"], checkpoint=folder,
                      **{**args, "threshold": 5.0})  # fmt: skip
    assert other.info["chunks_resumed"] == 0


def test_pooled_thresholds_match_full_permutations(study: dict) -> None:
    from translocus.core.molecular import rank_inverse_normal
    from translocus.genetics.permute import scan_perm

    rng = np.random.default_rng(3)
    ids = study["pheno"].index
    noise = pd.DataFrame(rng.normal(size=(len(ids), 12)), index=ids,
                         columns=[f"g{i}" for i in range(12)])  # fmt: skip
    traits = rank_inverse_normal(noise)
    got = eqtl_scan(traits, study["probs"], perms=150, perm_traits=4, seed=11, effects=False)
    assert got.groups is not None and len(got.groups) == 1  # one class: no missing values
    pooled = float(got.groups["threshold"].iloc[0])
    assert set(got.thresholds["threshold"]) == {pooled}
    permuted = set(got.groups["permuted_traits"].iloc[0].split(","))
    other = next(t for t in traits.columns if t not in permuted)
    full = scan_perm(traits[[other]], study["probs"], n_perm=600, seed=5)
    own = float(np.quantile(full.maxlod[other].to_numpy(float), 0.95))
    assert abs(pooled - own) < 0.35, (pooled, own)


def test_dask_equals_single_process(study: dict) -> None:
    from distributed import Client, LocalCluster

    args = {"threshold": 4.0, "chunk_traits": 8, "effects": False, "kinship": study["loco"]}
    alone = eqtl_scan(study["pheno"], study["probs"], **args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               dashboard_address=None)  # fmt: skip
    try:
        with Client(cluster) as client:
            shared = eqtl_scan(study["pheno"], study["probs"], client=client, **args)
    finally:
        cluster.close()
    pd.testing.assert_frame_equal(shared.peaks, alone.peaks, rtol=0, atol=TOL)
    pd.testing.assert_frame_equal(shared.max_lod, alone.max_lod, rtol=0, atol=TOL)


@pytest.mark.parametrize(("kwargs", "flag"), [
    ({"threshold": 0.0}, "threshold"), ({"drop": -1.0}, "drop"), ({"perms": -2}, "perms"),
    ({"alpha": 1.5}, "alpha"), ({"chunk_traits": 0}, "chunk_traits"),
])  # fmt: skip
def test_bad_options(study: dict, kwargs: dict, flag: str) -> None:
    with pytest.raises(OptionError, match=flag):
        eqtl_scan(study["pheno"], study["probs"], **kwargs)


def test_bad_traits(study: dict) -> None:
    twice = study["pheno"].iloc[:, [0, 0]]
    with pytest.raises(InputError, match="repeat"):
        eqtl_scan(twice, study["probs"])


def test_torch_backend_equals_cpu(study: dict) -> None:
    pytest.importorskip("torch")
    args = {"threshold": 4.0, "chunk_traits": 10, "effects": False, "kinship": study["loco"],
            "addcovar": study["sex"]}  # fmt: skip
    cpu = eqtl_scan(study["pheno"], study["probs"], **args)
    torch = eqtl_scan(study["pheno"], study["probs"], backend="torch", device="cpu", **args)
    np.testing.assert_allclose(torch.max_lod["lod"], cpu.max_lod["lod"], rtol=0, atol=1e-8)
    assert list(torch.peaks["marker"]) == list(cpu.peaks["marker"])
