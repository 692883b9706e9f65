"""The simulated molecular data set: real genes inside the map, planted shares, hotspots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError, OptionError
from translocus.core.paths import data_dir
from translocus.core.simulate_molecular import (
    GRCM39_LENGTHS,
    SimulatedExpression,
    mouse_map,
    simulate_expression,
    write_expression,
)

GENES = data_dir() / "genes" / "mouse_genes_grcm39_ensembl109.csv"
pytestmark = pytest.mark.skipif(not GENES.is_file(), reason="GRCm39 gene table not available")


@pytest.fixture(scope="module")
def small() -> SimulatedExpression:
    """The small case: 200 DO mice, 1,000 genes (runs in about a second)."""
    return simulate_expression(
        n=200, n_markers=1000, n_genes=1000, hotspot_targets=(40, 60), seed=11
    )


@pytest.fixture(scope="module")
def larger() -> SimulatedExpression:
    """500 mice, so that a regression's chance fit is small beside the planted shares."""
    return simulate_expression(n=500, n_markers=1000, n_genes=400, n_hotspots=0, seed=5)


def _dosage(sim: SimulatedExpression, chrom: str, pos_cm: float) -> np.ndarray:
    return sim.cross.mosaic.allele_dosage(chrom=chrom, pos_cM=pos_cm).to_numpy().astype(float)


def _adjusted_r2(y: np.ndarray, x: np.ndarray) -> float:
    """Adjusted R² of y on an intercept and the columns of x (one founder left out)."""
    design = np.column_stack([np.ones(len(y)), x])
    rank = np.linalg.matrix_rank(design)
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1.0 - np.var(y - fitted) / np.var(y)
    return 1.0 - (1.0 - r2) * (len(y) - 1) / (len(y) - rank)


def test_same_seed_same_data_other_seed_other_data() -> None:
    kwargs = {"n": 40, "n_markers": 300, "n_genes": 150, "hotspot_targets": (5, 10)}
    a = simulate_expression(seed=3, **kwargs)  # type: ignore[arg-type]
    b = simulate_expression(seed=3, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.expression, b.expression)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    pd.testing.assert_frame_equal(a.hotspots, b.hotspots)
    pd.testing.assert_frame_equal(a.covariates, b.covariates)
    c = simulate_expression(seed=4, **kwargs)  # type: ignore[arg-type]
    assert not a.features.index.equals(c.features.index)


def test_genes_are_real_and_sit_inside_the_map(small: SimulatedExpression) -> None:
    table = pd.read_csv(GENES, dtype={"chr": str}).drop_duplicates("ensgene").set_index("ensgene")
    features = small.features
    assert features.index.is_unique and features["symbol"].is_unique
    assert (features["build"] == "GRCm39").all()
    real = table.loc[features.index]
    assert (real["biotype"] == "protein_coding").all()
    assert (real["chr"].to_numpy() == features["chr"].to_numpy()).all()
    assert (real["start"].to_numpy() == features["start"].to_numpy()).all()
    assert set(features["chr"]) <= set(GRCM39_LENGTHS)
    pmap = small.cross.cross.pmap
    assert pmap is not None
    for chrom, genes in features.groupby("chr"):
        assert pmap[chrom].min() <= genes["start"].min() / 1e6
        assert genes["end"].max() / 1e6 <= pmap[chrom].max()
        assert pmap[chrom].max() == pytest.approx(GRCM39_LENGTHS[str(chrom)] / 1e6)
    # the expression matrix and the cross have the same animals, genes in table order
    assert list(small.expression.index) == list(small.cross.cross.individuals)
    assert list(small.expression.columns) == list(features.index)


def test_map_is_about_half_a_centimorgan_per_megabase() -> None:
    """The sex-averaged mouse map: 0.42-0.95 cM/Mbp by chromosome, 0.57 over the genome."""
    gmap, pmap = mouse_map(n_markers=400, seed=2)
    assert sum(len(m) for m in gmap.values()) == 400
    for chrom in GRCM39_LENGTHS:
        rate = gmap[chrom].iloc[-1] / (pmap[chrom].iloc[-1] - pmap[chrom].iloc[0])
        assert 0.4 < rate < 1.0, chrom  # the short chromosome 19: 0.95 cM/Mbp
        assert gmap[chrom].is_monotonic_increasing and pmap[chrom].is_monotonic_increasing
    total_cm = sum(float(m.iloc[-1]) for m in gmap.values())
    total_mbp = sum(float(m.iloc[-1] - m.iloc[0]) for m in pmap.values())
    assert 0.5 < total_cm / total_mbp < 0.65


def test_kinds_and_hotspot_layout(small: SimulatedExpression) -> None:
    truth, hotspots = small.truth, small.hotspots
    kinds = truth["kind"].value_counts()
    assert kinds["local"] + kinds["mediator"] == 300  # cis_fraction 0.3 of 1,000
    assert kinds["mediator"] == 3 == len(hotspots)
    assert hotspots["chr"].is_unique and "X" not in set(hotspots["chr"])
    for _, hot in hotspots.iterrows():
        targets = truth[(truth["hotspot"] == hot["hotspot"]) & (truth["kind"] == "distal")]
        assert len(targets) == hot["targets"] and 40 <= hot["targets"] <= 60
        assert (targets["chr"] != hot["chr"]).all()  # distal: on other chromosomes
        assert (targets["qtl_chr"] == hot["chr"]).all()
        assert np.allclose(targets["qtl_pos"], hot["pos"])
        assert (targets["mediator"] == hot["mediator"]).all()
        assert 0.4 <= hot["mediator_variance"] <= 0.6
    none = truth[truth["kind"] == "none"]
    assert none["variance"].isna().all() and (none["qtl_chr"] == "").all()
    shares = truth.loc[truth["kind"] == "local", "variance"]
    assert shares.between(0.05, 0.30).all()
    assert truth.loc[truth["kind"] == "distal", "variance"].between(0.02, 0.10).all()
    assert truth["h2"].between(0.2, 0.6).all()
    # a local eQTL sits at the gene's transcription start
    local = truth[truth["kind"] == "local"]
    assert (local["qtl_chr"] == local["chr"]).all()
    assert (
        np.isclose(local["qtl_pos"], local["start"] / 1e6)
        | np.isclose(local["qtl_pos"], local["end"] / 1e6)
    ).all()
    # most patterns are biallelic: a few founders carry the other allele
    patterns = truth.loc[truth["kind"].isin(["local", "mediator"]), "pattern"]
    biallelic = patterns[patterns != "multi"]
    assert 0.75 < len(biallelic) / len(patterns) < 0.95
    assert biallelic.str.len().between(1, 4).all()
    assert set("".join(biallelic)) <= set("ABCDEFGH")


def test_planted_share_is_exact_in_the_sample(small: SimulatedExpression) -> None:
    """var(dosage @ effects) / var(gene) is the truth's share, to rounding."""
    truth = small.truth
    effects = truth[[f"effect_{a}" for a in "ABCDEFGH"]].to_numpy()
    for j in np.flatnonzero(truth["kind"].isin(["local", "mediator"]).to_numpy())[:60]:
        row = truth.iloc[j]
        part = _dosage(small, row["qtl_chr"], row["qtl_cM"]) @ effects[j]
        share = np.var(part) / np.var(small.expression.iloc[:, j].to_numpy())
        assert share == pytest.approx(row["variance"], rel=1e-9)


def test_regression_on_true_dosages_recovers_the_local_shares(
    larger: SimulatedExpression,
) -> None:
    """Adjusted R² of each local gene on the founder dosages at its QTL, against the truth."""
    truth = larger.truth
    local = np.flatnonzero((truth["kind"] == "local").to_numpy())
    assert len(local) == 120
    r2 = np.array(
        [
            _adjusted_r2(
                larger.expression.iloc[:, j].to_numpy(),
                _dosage(larger, truth["qtl_chr"].iloc[j], truth["qtl_cM"].iloc[j])[:, :-1],
            )
            for j in local
        ]
    )
    planted = truth["variance"].to_numpy()[local]
    # the fit also takes chance and the background near the QTL (through the kinship)
    assert abs(float(np.mean(r2 - planted))) < 0.015
    assert np.mean(np.abs(r2 - planted) < 0.08) > 0.9
    assert np.mean((r2 > 0.05 - 0.1) & (r2 < 0.30 + 0.1)) > 0.95
    # genes without a QTL: chance fits and a little background only
    none = np.flatnonzero((truth["kind"] == "none").to_numpy())[:60]
    chance = [
        _adjusted_r2(
            larger.expression.iloc[:, j].to_numpy(),
            _dosage(larger, truth["chr"].iloc[j], 20.0)[:, :-1],
        )
        for j in none
    ]
    assert abs(float(np.mean(chance))) < 0.02


def test_hotspot_targets_follow_their_mediator(small: SimulatedExpression) -> None:
    truth, expr = small.truth, small.expression
    none = truth.loc[truth["kind"] == "none", "gene_id"]
    for _, hot in small.hotspots.iterrows():
        mediator = expr[hot["mediator"]]
        targets = truth[(truth["hotspot"] == hot["hotspot"]) & (truth["kind"] == "distal")]
        corr = expr[targets["gene_id"]].corrwith(mediator)
        # the sign of each correlation is the sign of the planted coefficient
        assert (np.sign(corr) == np.sign(targets["mediator_coef"].to_numpy())).mean() > 0.9
        assert corr.abs().median() > 0.25
        assert expr[none].corrwith(mediator).abs().median() < 0.1
        # the hotspot QTL reaches the targets only through the mediator: with the
        # mediator in the model, the founder dosages at the hotspot explain chance only
        dosage = _dosage(small, hot["chr"], hot["pos_cM"])[:, :-1]
        before, after = [], []
        for gene in targets["gene_id"]:
            y = expr[gene].to_numpy()
            before.append(_adjusted_r2(y, dosage))
            m = np.column_stack([np.ones(len(y)), mediator.to_numpy()])
            resid = y - m @ np.linalg.lstsq(m, y, rcond=None)[0]
            after.append(_adjusted_r2(resid, dosage))
        assert np.mean(before) > 0.03
        assert abs(float(np.mean(after))) < 0.01


def test_distal_effects_are_the_mediators_times_the_coefficient(
    small: SimulatedExpression,
) -> None:
    truth = small.truth.set_index("gene_id")
    cols = [f"effect_{a}" for a in "ABCDEFGH"]
    for _, hot in small.hotspots.iterrows():
        targets = truth[(truth["hotspot"] == hot["hotspot"]) & (truth["kind"] == "distal")]
        expected = np.outer(
            targets["mediator_coef"], truth.loc[hot["mediator"], cols].astype(float)
        )
        assert np.allclose(targets[cols].to_numpy(), expected)
        assert (targets["pattern"] == truth.loc[hot["mediator"], "pattern"]).all()


def test_covariates_sex_and_batch(small: SimulatedExpression) -> None:
    cov = small.covariates
    sexes = small.cross.cross.covar["Sex"]
    assert ((cov["sex"] == 1) == (sexes == "female")).all()
    counts = cov["batch"].value_counts()
    assert sorted(counts.index) == ["batch1", "batch2", "batch3", "batch4"]
    assert counts.max() - counts.min() <= 1


def test_a_given_cross_is_reused(small: SimulatedExpression) -> None:
    again = simulate_expression(n_genes=200, hotspot_targets=(5, 10), cross=small.cross, seed=2)
    assert again.cross is small.cross
    assert list(again.expression.index) == list(small.cross.cross.individuals)


def test_bad_options_are_one_clear_error() -> None:
    with pytest.raises(OptionError, match=r"cis_variance=\(0.3, 0.1\)"):
        simulate_expression(n=20, n_genes=50, cis_variance=(0.3, 0.1))
    with pytest.raises(OptionError, match="mediator_variance.*trans_variance"):
        simulate_expression(n=20, n_genes=50, mediator_variance=(0.05, 0.5))
    with pytest.raises(OptionError, match="n_genes=100: too few for 3 hotspots"):
        simulate_expression(n=20, n_markers=200, n_genes=100)
    with pytest.raises(OptionError, match="n=5"):
        simulate_expression(n=5, n_genes=50)
    with pytest.raises(OptionError, match="n_genes=50000: only"):
        simulate_expression(n=20, n_markers=200, n_genes=50000)


def test_write_expression_round_trips(tmp_path: Path) -> None:
    sim = simulate_expression(n=30, n_markers=300, n_genes=80, hotspot_targets=(3, 5), seed=7)
    folder = write_expression(sim, tmp_path / "expr", formats=("parquet", "csv"))
    matrix = pd.read_parquet(folder / "expression.parquet").set_index("sample")
    np.testing.assert_array_equal(matrix.to_numpy(), sim.expression.to_numpy())
    assert list(matrix.columns) == list(sim.expression.columns)
    csv = pd.read_csv(folder / "expression.csv", index_col="sample")
    np.testing.assert_allclose(csv.to_numpy(), sim.expression.to_numpy(), rtol=1e-9)
    truth = pd.read_csv(folder / "expression_truth.csv", keep_default_na=False, na_values=[""])
    assert list(truth["gene_id"]) == list(sim.truth["gene_id"])
    assert list(truth["kind"]) == list(sim.truth["kind"])
    hotspots = pd.read_csv(folder / "hotspots.csv")
    assert list(hotspots["mediator"]) == list(sim.hotspots["mediator"])
    features = pd.read_csv(folder / "features.csv", dtype={"chr": str})
    assert list(features.columns) == ["gene_id", "symbol", "chr", "start", "end", "build"]
    assert (folder / "sim.json").is_file() and (folder / "truth.csv").is_file()
    covar = pd.read_csv(folder / "expression_covar.csv")
    assert list(covar.columns) == ["sample", "sex", "batch"]
    # written again over itself: replaced as a whole
    write_expression(sim, folder)
    assert not (folder / "expression.csv").exists()
    # a folder the simulator did not write is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="give a new or empty folder"):
        write_expression(sim, tmp_path / "mine")
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"
    with pytest.raises(OptionError, match="formats"):
        write_expression(sim, tmp_path / "other", formats=("xlsx",))
    assert not (tmp_path / "other").exists()


def test_write_expression_h5ad(tmp_path: Path) -> None:
    anndata = pytest.importorskip("anndata")
    sim = simulate_expression(n=30, n_markers=300, n_genes=60, hotspot_targets=(3, 5), seed=8)
    folder = write_expression(sim, tmp_path / "expr", formats=("h5ad",))
    adata = anndata.read_h5ad(folder / "expression.h5ad")
    np.testing.assert_array_equal(adata.X, sim.expression.to_numpy())
    assert list(adata.obs_names) == list(sim.expression.index)
    assert list(adata.var_names) == list(sim.expression.columns)
    assert list(adata.var["symbol"]) == list(sim.features["symbol"])
    assert adata.uns["build"] == "GRCm39"


def test_written_matrix_reads_back_as_molecular_traits(tmp_path: Path) -> None:
    """The project's reader of expression files finds samples, features and values."""
    from translocus.core.molecular import read_traits

    sim = simulate_expression(n=30, n_markers=300, n_genes=60, hotspot_targets=(3, 5), seed=9)
    folder = write_expression(sim, tmp_path / "expr")
    traits = read_traits(folder / "expression.parquet", samples=list(sim.expression.index))
    assert traits.orientation == "samples-x-features"
    np.testing.assert_array_equal(traits.values.to_numpy(), sim.expression.to_numpy())
    assert traits.feature_ids == list(sim.expression.columns)
    direct = sim.to_traits()
    assert direct.values.equals(sim.expression) and direct.shape == (30, 60)
    assert list(direct.features["chr"]) == list(sim.features["chr"])


def test_a_cross_on_another_map_gets_only_the_genes_inside_it() -> None:
    from translocus.core.simulate import simulate_cross

    cross = simulate_cross(cross_type="do", n=30, n_markers=200, seed=3)  # GRCm38-like lengths
    sim = simulate_expression(n_genes=300, hotspot_targets=(5, 10), cross=cross, seed=3)
    pmap = cross.cross.pmap
    assert pmap is not None
    for chrom, genes in sim.features.groupby("chr"):
        assert pmap[chrom].min() <= genes["start"].min() / 1e6
        assert genes["end"].max() / 1e6 <= pmap[chrom].max()
    with pytest.raises(OptionError, match="only .* genes lie inside the map of cross"):
        simulate_expression(n_genes=21000, cross=cross)
