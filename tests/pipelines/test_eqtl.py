"""``translocus eqtl`` on a simulated DO study with planted local eQTL, trans hotspots and mediators.

742 mice (the size of the DO_Gatti2014 study), 2,000 markers on the GRCm39 map, 1,200 real
mouse genes (``simulate_expression``: local eQTL explaining 5-30% of a gene's variance, two
trans hotspots each driving dozens of genes through a mediator gene, polygenic background,
sex and batch). Checked against the truth table:

- recall of the planted local eQTL at the default threshold is at least 0.9 (the false
  discovery rates of the local and distal calls are computed from the truth and printed);
- every planted hotspot is found, and ``translocus mediate --hotspot`` ranks its planted
  mediator first;
- a run killed after its first chunk resumes from the checkpoint and gives the same peaks;
  the checkpoint is gone once the run is in place; ``--keep-lod`` keeps every LOD.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke, run_killed
from translocus.pipelines.eqtl import checkpoint_folder


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from translocus.core.paths import data_dir
    from translocus.core.simulate_molecular import simulate_expression, write_expression

    if not (data_dir() / "genes").exists():
        pytest.skip("the shared gene tables are not available")
    root = tmp_path_factory.mktemp("eqtl")
    sim = simulate_expression(n=742, n_markers=2000, n_genes=1200, seed=4, n_hotspots=2)
    folder = write_expression(sim, root / "sim")
    cross = next(folder.glob("*.json"))
    base = [cross, "--traits", folder / "expression.parquet", "--covar", "Sex",
            "--covar-file", folder / "expression_covar.csv",
            "--hotspot-perms", "200"]  # fmt: skip
    run = root / "run"
    done = invoke(["eqtl", *base, "--chunk-traits", "600", "-o", run])  # two chunks
    assert done.exit_code == 0, done.output + done.stderr
    return {"sim": sim, "folder": folder, "cross": cross, "base": base, "run": run,
            "root": root}  # fmt: skip


def test_complete_run(study: dict) -> None:
    record = assert_complete_run(study["run"])
    summary = record["summary"]
    assert summary["traits"] == 1200 and summary["n_samples"] == 742
    assert summary["method"] == "lmm" and summary["kinship"] == "loco"
    # both trait chunks use one decomposition per LOCO kinship
    made = {r["what"]: r["n"] for r in record["rows"]}["kinship decompositions made"]
    assert made == len(study["sim"].cross.cross.chromosomes)
    peaks = pd.read_parquet(study["run"] / "peaks.parquet")
    assert {"trait", "chr", "marker", "pos", "lod", "ci_lo", "ci_hi", "hsq", "coef_A", "se_H",
            "gene_id", "symbol", "gene_chr", "class", "distance"} <= set(peaks.columns)  # fmt: skip
    assert (peaks["lod"] >= 6).all() and (peaks["ci_lo"] <= peaks["pos"]).all()
    assert (study["run"] / "cistrans.png").stat().st_size > 0
    assert not checkpoint_folder(study["run"]).exists()


def test_local_recall_and_fdr(study: dict) -> None:
    truth = study["sim"].truth.set_index("gene_id")
    peaks = pd.read_parquet(study["run"] / "peaks.parquet")
    planted_local = set(truth.index[truth["kind"].isin(["local", "mediator"])])
    called_local = set(peaks.loc[peaks["class"] == "local", "trait"])
    recall = len(planted_local & called_local) / len(planted_local)
    fdr_local = len(called_local - planted_local) / max(len(called_local), 1)
    distal = peaks[peaks["class"] == "distal"]
    planted_distal = truth["hotspot"].notna() & truth["kind"].eq("distal")
    true_distal = distal["trait"].map(planted_distal).fillna(False).astype(bool)
    fdr_distal = float(1 - true_distal.mean()) if len(distal) else 0.0
    print(f"local recall {recall:.3f}, local FDR {fdr_local:.3f}, "
          f"distal FDR {fdr_distal:.3f} ({len(distal)} distal peaks)")  # fmt: skip
    assert recall >= 0.9
    assert fdr_local < 0.1


def test_hotspots_found_and_mediators_first(study: dict) -> None:
    found = pd.read_csv(study["run"] / "hotspots.csv", dtype={"chr": str})
    for planted in study["sim"].hotspots.itertuples():
        on = found[(found["chr"] == str(planted.chr))
                   & (found["start"] - 5 <= planted.pos) & (planted.pos <= found["end"] + 5)]  # fmt: skip
        assert len(on), (planted, found)
        out = study["root"] / f"mediate_{planted.hotspot}"
        done = invoke(["mediate", study["cross"], "--traits",
                       study["folder"] / "expression.parquet", "--hotspot", study["run"],
                       "--at", f"{planted.chr}:{planted.pos}", "--covar", "Sex", "-o", out])  # fmt: skip
        assert done.exit_code == 0, done.output + done.stderr
        table = pd.read_csv(out / "mediation.csv")
        assert str(table.iloc[0]["mediator"]) == planted.mediator, table.head()


def test_killed_run_resumes(study: dict) -> None:
    out = study["root"] / "resumed"
    argv = ["eqtl", *study["base"], "--chunk-traits", "256", "--kinship", "none", "-o", out]
    assert run_killed(argv, "eqtl-chunk", cwd=study["root"])
    kept = checkpoint_folder(out)
    assert len(list(kept.glob("chunk-*.peaks.parquet"))) == 1
    assert not out.exists()
    done = invoke(argv)
    assert done.exit_code == 0, done.output + done.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["summary"]["chunks_resumed"] == 1
    assert not kept.exists()
    fresh = study["root"] / "fresh"
    assert invoke([*argv[:-1], fresh]).exit_code == 0
    a = pd.read_parquet(out / "peaks.parquet")
    b = pd.read_parquet(fresh / "peaks.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_keep_lod(study: dict) -> None:
    from translocus.genetics.eqtl import read_lod

    out = study["root"] / "with_lod"
    argv = ["eqtl", *study["base"], "--kinship", "none", "--no-effects", "--keep-lod", "-o", out]
    done = invoke(argv)
    assert done.exit_code == 0, done.output + done.stderr
    assert_complete_run(out)
    best = pd.read_parquet(out / "max_lod.parquet").set_index("trait")
    for trait in best.index[:3]:
        profile = read_lod(out / "lod.zarr", trait)
        assert np.isclose(profile.max(), best.at[trait, "lod"], rtol=0, atol=1e-12)


def test_rank_normal_transform_is_stated(study: dict) -> None:
    out = study["root"] / "rankint"
    small = study["root"] / "small.parquet"
    values = pd.read_parquet(study["folder"] / "expression.parquet").iloc[:, :41]
    values.to_parquet(small)
    argv = ["eqtl", study["cross"], "--traits", small, "--transform", "rankint", "--kinship",
            "none", "--hotspot-perms", "50", "-o", out]  # fmt: skip
    done = invoke(argv)
    assert done.exit_code == 0, done.output + done.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["summary"]["transform"] == "rankint"
    assert any("inverse normal" in n for n in record["summary"]["notes"])
