"""``translocus mediate`` on the DOex cross with a simulated expression matrix.

The matrix holds 80 real mouse genes (GRCm38, DOex's build: 40 near the chr 2 QTL, 40 on
chr 7) as noise, one of them made a mediator of the QTL (its expression follows the founder
alleles at the marker nearest 97.5 Mbp), and a feature driven by that mediator as target. The
target's LOD without a mediator equals the genome scan's LOD at that marker (``scan``, the same
model: Haley-Knott, or LMM with LOCO kinship and sex); the planted mediator ranks first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke
from translocus.core.paths import data_dir
from translocus.core.runs import RunLog

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.json"
MARKER = "UNC020114284"  # the marker nearest chr 2 97.5 Mbp


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not DOEX.exists():
        pytest.skip("the shared DOex cross is not available")
    from translocus.core.qtl2io import read_cross
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
    from translocus.genetics.kinship import calc_kinship
    from translocus.translate.genes import load_genes

    cross = read_cross(DOEX)
    alleles = genoprob_to_alleleprob(calc_genoprob(cross, map_function="c-f"))  # as the scan
    q = alleles["2"].sel(marker=MARKER).values
    ids = [str(s) for s in alleles["2"].coords["sample"].values]
    genes = load_genes("mouse", "GRCm38").genes
    coding = genes[genes["biotype"] == "protein_coding"]
    near = coding[(coding["chr"] == "2") & (coding["start"] > 92e6) & (coding["start"] < 103e6)]
    far = coding[coding["chr"] == "7"]
    chosen = pd.concat([near.head(40), far.head(40)])
    rng = np.random.default_rng(7)
    effect = q @ np.array([1.0, 0, 0, -1, 0.5, 0, 0, 0])
    effect = (effect - effect.mean()) / effect.std()
    values = pd.DataFrame({g: rng.normal(0, 1, len(ids)) for g in chosen["gene_id"]}, index=ids)
    mediator = str(near["gene_id"].iloc[7])
    values[mediator] = effect + rng.normal(0, 0.5, len(ids))
    values["liver_trait"] = values[mediator] + rng.normal(0, 0.6, len(ids))
    values.iloc[:6, 2] = np.nan  # one candidate missing in six mice
    values.index.name = "mouse"
    root = tmp_path_factory.mktemp("mediate")
    samples_rows = root / "expr.csv"
    values.to_csv(samples_rows)
    # the same features as rows, with their annotation in the file (symbols only)
    rows = values.T
    rows.insert(0, "symbol", [str(s) for s in chosen.set_index("gene_id")["symbol"]
                              .reindex(rows.index).fillna("Liver1")])  # fmt: skip
    features_rows = root / "expr_features.parquet"
    rows.index.name = "feature"
    rows.to_parquet(features_rows)
    return {"root": root, "csv": samples_rows, "parquet": features_rows, "mediator": mediator,
            "symbol": str(near["symbol"].iloc[7]), "cross": cross, "alleles": alleles,
            "kinship": calc_kinship(alleles, type="loco")}  # fmt: skip


def _run(study: dict, **options: object):
    from translocus.pipelines.mediate import MediateRequest, run_mediate

    log = RunLog()
    request = MediateRequest(cross=DOEX, traits=study["csv"], at="2:97.5", **options)  # type: ignore[arg-type]
    return run_mediate(request, log), log


def test_planted_mediator_first_and_lods_equal_the_scan(study: dict) -> None:
    from translocus.genetics.scan import cross_covariates, scan

    output, log = _run(study, target="liver_trait", covar=("sex",))
    table = output.result.table
    assert output.marker == MARKER and output.build == "GRCm38"
    assert table["mediator"].iloc[0] == study["mediator"]
    assert table["symbol"].iloc[0] == study["symbol"]
    assert table["lod_mediated"].iloc[0] < 3 < table["lod_mediated"].iloc[1]
    values = pd.read_csv(study["csv"], index_col=0)
    values.index = values.index.astype(str)
    addcovar, xcovar = cross_covariates(study["cross"], ["sex"])
    result = scan(values[["liver_trait"]], study["alleles"], kinship=study["kinship"],
                  addcovar=addcovar, Xcovar=xcovar)  # fmt: skip
    complete = table[table["n"] == table["n"].max()]
    np.testing.assert_allclose(complete["lod"], result.lod.loc[MARKER, "liver_trait"],
                               atol=1e-8)  # fmt: skip
    assert complete["hsq"].nunique() == 1
    # the candidate missing in six mice: both of its LODs on the other 255
    assert sorted(table["n"].unique().tolist()) == [255, 261]
    counted = {row["what"]: row["n"] for row in log.rows}
    assert counted["candidates missing in some individuals"] == 1
    assert counted["features read"] == values.shape[1]
    human = output.human
    assert human["mediator"].iloc[0] == study["mediator"]
    assert human["status"].iloc[0] == "ok" and isinstance(human["human_symbol"].iloc[0], str)


def test_a_cross_phenotype_as_target_with_hk_and_a_window(study: dict) -> None:
    from translocus.genetics.scan import scan

    output, log = _run(study, target="OF_immobile_pct", kinship="none", window=3.0)
    table = output.result.table
    assert output.target_source == "cross" and output.result.method == "hk"
    result = scan(study["cross"].pheno, study["alleles"])
    complete = table[table["n"] == table["n"].max()]
    np.testing.assert_allclose(complete["lod"], result.lod.loc[MARKER, "OF_immobile_pct"],
                               atol=1e-8)  # fmt: skip
    start = pd.to_numeric(table["start"]) / 1e6
    end = pd.to_numeric(table["end"]) / 1e6
    assert (table["chr"] == "2").all()
    assert ((end >= 97.5 - 3.0) & (start <= 97.5 + 3.0)).all()
    assert output.result.n_candidates == len(table) < 80


def test_features_as_rows_with_their_annotation(study: dict) -> None:
    from translocus.pipelines.mediate import MediateRequest, run_mediate

    output = run_mediate(MediateRequest(cross=DOEX, traits=study["parquet"], at="chr2:97.5",
                                        target="liver_trait", kinship="none"))  # fmt: skip
    table = output.result.table
    assert table["mediator"].iloc[0] == study["mediator"]
    assert table["symbol"].iloc[0] == study["symbol"]
    assert table["chr"].iloc[0] == "2"  # positions joined from the gene table


def test_command_writes_a_complete_run(study: dict, tmp_path: Path) -> None:
    out = tmp_path / "mediate"
    result = invoke(["mediate", DOEX, "--traits", study["csv"], "--target", "liver_trait",
                     "--at", "2:97.5", "--covar", "sex", "--kinship", "none", "-o", out])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"1. {study['symbol']}" in result.stdout
    record = assert_complete_run(out)
    assert {"mediation.csv", "mediation.png", "human.csv"} <= set(record["files"])
    assert record["summary"]["top"][0]["mediator"] == study["mediator"]
    table = pd.read_csv(out / "mediation.csv")
    assert table["rank"].tolist() == list(range(1, len(table) + 1))


def test_features_named_by_symbol_are_placed(tmp_path: Path) -> None:
    from translocus.pipelines.mediate import read_trait_matrix

    path = tmp_path / "few.csv"
    pd.DataFrame({"Hnf1a": [1.0, 2.0, 3.0], "ENSMUSG00000029556": [1.0, 2.5, 3.0],
                  "not_a_gene": [0.0, 1.0, 2.0]},
                 index=pd.Index(["1", "4", "999"], name="mouse")).to_csv(path)  # fmt: skip
    log = RunLog()
    values, features, notes = read_trait_matrix(path, ["1", "4", "5"], "GRCm39", log)
    assert values.index.tolist() == ["1", "4"]
    assert features.loc["Hnf1a", "gene_id"] == "ENSMUSG00000029556"
    assert features.loc["Hnf1a", "chr"] == features.loc["ENSMUSG00000029556", "chr"] == "5"
    assert features.loc["ENSMUSG00000029556", "symbol"] == "Hnf1a"
    assert pd.isna(features.loc["not_a_gene", "chr"])
    counted = {row["what"]: row["n"] for row in log.rows}
    assert counted["features without a gene position"] == 1
    assert counted["trait samples dropped"] == 1
    assert any(note.startswith("orientation: samples-x-features") for note in notes)


def _eqtl_run(folder: Path, peaks: pd.DataFrame, **options: object) -> Path:
    """An eqtl run folder as ``translocus eqtl`` leaves it: run.json and peaks.parquet."""
    import json

    from translocus.core.runs import RUN_FORMAT

    folder.mkdir()
    peaks.to_parquet(folder / "peaks.parquet")
    record = {"translocus_run": RUN_FORMAT, "command": "eqtl", "status": "complete",
              "options": {"cross": str(DOEX), "window": 4.0, "hotspot_window": 4.0,
                          "hotspot_perms": 200, "alpha": 0.05, "seed": 3, **options},
              "summary": {"build": "GRCm38"}}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(record))
    return folder


def test_a_hotspot_of_an_eqtl_run(study: dict, tmp_path: Path) -> None:
    """30 traits with a distal peak at chr 2 97 Mbp, all driven by the planted mediator."""
    from translocus.pipelines.mediate import MediateRequest, run_mediate

    rng = np.random.default_rng(12)
    values = pd.read_csv(study["csv"], index_col=0)
    hub = values[study["mediator"]]
    targets = {f"T{k:02d}": 0.8 * hub + rng.normal(0, 0.6, len(hub)) for k in range(30)}
    expr = pd.concat([values, pd.DataFrame(targets, index=values.index)], axis=1)
    expr.index.name = "mouse"
    path = tmp_path / "expr_hot.csv"
    expr.to_csv(path)
    cross = study["cross"]
    markers = pd.DataFrame({"chr": np.concatenate([[c] * len(cross.pmap[c]) for c in cross.pmap]),
                            "pos": np.concatenate([cross.pmap[c].to_numpy() for c in cross.pmap])})  # fmt: skip
    pick = rng.integers(0, len(markers), 40)
    peaks = pd.DataFrame({
        "trait": [*targets, *(f"bg{k}" for k in range(40))],
        "chr": [*(["2"] * 30), *markers["chr"].to_numpy()[pick]],
        "pos": [*rng.normal(97.3, 0.3, 30), *markers["pos"].to_numpy()[pick]],
        "lod": 8.0, "class": "distal",
    })  # fmt: skip
    run = _eqtl_run(tmp_path / "eqtl", peaks)
    output = run_mediate(MediateRequest(cross=DOEX, traits=path, at="2:95", hotspot=run,
                                        kinship="none"))  # fmt: skip
    spot = output.hotspot
    assert spot is not None and spot["chr"] == "2" and spot["start"] <= 97.3 <= spot["end"]
    assert output.n_targets == 30 and spot["window"] == 10.0
    table = output.result.table
    assert table["mediator"].iloc[0] == study["mediator"]
    assert table["n_top"].iloc[0] >= 25 and table["n_targets"].iloc[0] == 30
    assert not set(targets) & set(table["mediator"])  # the targets are not candidates
    assert output.summary()["ranked_by"] == "median_drop"
    assert "median_drop" in output.human.columns
    result = invoke(["mediate", DOEX, "--traits", path, "--hotspot", run, "--at", "2:95",
                     "--kinship", "none", "-o", tmp_path / "out"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "hotspot H1: chr 2" in result.stdout and f"1. {study['symbol']}" in result.stdout
    # no hotspot on the chromosome asked for
    no = invoke(["mediate", DOEX, "--traits", path, "--hotspot", run, "--at", "3:50",
                 "--kinship", "none", "-o", tmp_path / "out3"])  # fmt: skip
    assert no.exit_code == 2 and "has no hotspot on chromosome 3" in no.stderr


def test_a_hotspot_of_a_real_eqtl_run_names_its_planted_mediator(tmp_path: Path) -> None:
    """simulate_expression -> translocus eqtl -> translocus mediate --hotspot, end to end."""
    from translocus.core.simulate_molecular import simulate_expression, write_expression

    sim = simulate_expression(n=400, n_markers=2000, n_genes=600, n_hotspots=2,
                              hotspot_targets=(40, 60), trans_variance=(0.08, 0.15), seed=5)  # fmt: skip
    folder = write_expression(sim, tmp_path / "sim")
    cross, traits = folder / "sim.json", folder / "expression.parquet"
    done = invoke(["eqtl", cross, "--traits", traits, "--kinship", "none", "--no-effects",
                   "--hotspot-perms", "200", "-o", tmp_path / "eqtl"])  # fmt: skip
    assert done.exit_code == 0, done.output
    for planted in sim.hotspots.itertuples():
        out = tmp_path / f"mediate_{planted.hotspot}"
        done = invoke(["mediate", cross, "--traits", traits, "--hotspot", tmp_path / "eqtl",
                       "--at", f"{planted.chr}:{planted.pos:.3f}", "--kinship", "none",
                       "-o", out])  # fmt: skip
        assert done.exit_code == 0, done.output
        record = assert_complete_run(out)
        spot = record["summary"]["hotspot"]
        assert spot["chr"] == str(planted.chr)
        assert spot["start"] - 5 <= planted.pos <= spot["end"] + 5
        assert record["summary"]["top"][0]["mediator"] == planted.mediator
        # the hotspot is the one the eqtl run reported
        reported = pd.read_csv(tmp_path / "eqtl" / "hotspots.csv", dtype={"chr": str})
        same = reported[reported["id"] == spot["id"]].iloc[0]
        assert (same["chr"], same["start"], same["end"]) == (spot["chr"], spot["start"],
                                                             spot["end"])  # fmt: skip
