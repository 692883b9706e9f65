"""Molecular-trait inputs: every format and orientation, annotation joins, sample matching,
the rank-based inverse normal transform, covariate tables and one clear error per bad input.

References: the rank-INT is checked against ``scipy.stats.norm.ppf`` of ranks computed by
hand; the annotation join against rows of the GRCm39 gene table (Ensembl 109) read directly.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from translocus.core.errors import InputError, OptionError
from translocus.core.molecular import (
    MolecularTraits,
    annotate,
    match_samples,
    rank_inverse_normal,
    read_covariate_table,
    read_traits,
)
from translocus.core.paths import data_dir

try:
    import anndata
except ImportError:  # the h5ad extra is not installed: the .h5ad tests are skipped
    anndata = None

needs_anndata = pytest.mark.skipif(anndata is None, reason="anndata reads .h5ad (the h5ad extra)")

SAMPLES = ["DO-001", "DO-002", "DO-003", "DO-004"]
GENES = ["ENSMUSG00000000001", "ENSMUSG00000000028", "ENSMUSG00000029368"]
#: [sample x feature] values of the small files below.
VALUES = np.array(
    [[5.1, 2.2, 10.0], [4.8, np.nan, 11.5], [6.0, 3.1, 9.25], [5.5, 2.9, 10.75]], dtype=float
)


def _blank(ids: list[str]) -> pd.DataFrame:
    from translocus.core.molecular import _blank_features

    return _blank_features(ids)


def expected() -> pd.DataFrame:
    return pd.DataFrame(VALUES, index=SAMPLES, columns=GENES)


def assert_values(traits: MolecularTraits) -> None:
    assert traits.values.index.name == "sample" and traits.values.columns.name == "feature"
    assert traits.values.dtypes.eq(np.float64).all()
    pd.testing.assert_frame_equal(expected(), traits.values, check_names=False)


def features_by_samples_text(sep: str = ",", annotation: bool = True) -> str:
    head = ["gene_id", "symbol", "chr", "start", "end"] if annotation else ["gene"]
    rows = [sep.join([*head, *SAMPLES])]
    info = [
        ["ENSMUSG00000000001", "Gnai3", "3", "108014596", "108053462"],
        ["ENSMUSG00000000028", "Cdc45", "chr16", "18599197", "18630737"],
        ["ENSMUSG00000029368", "Alb", "5", "", ""],
    ]
    for j, gene in enumerate(GENES):
        cells = ["" if np.isnan(v) else repr(float(v)) for v in VALUES[:, j]]
        rows.append(sep.join([*(info[j] if annotation else [gene]), *cells]))
    return "\n".join(rows) + "\n"


def samples_by_features_text(sep: str = ",", id_column: str = "mouse") -> str:
    rows = [sep.join([id_column, *GENES])]
    for i, sample in enumerate(SAMPLES):
        rows.append(sep.join([sample, *("" if np.isnan(v) else repr(float(v)) for v in VALUES[i])]))
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------ formats and orientations


def test_csv_features_by_samples_takes_annotation_columns_as_annotation(tmp_path: Path) -> None:
    path = tmp_path / "liver.csv"
    path.write_text(features_by_samples_text())
    traits = read_traits(path)
    assert traits.orientation == "features-x-samples"
    assert "annotation columns" in traits.notes[0]
    assert_values(traits)
    features = traits.features
    assert features.index.tolist() == GENES
    assert features["symbol"].tolist() == ["Gnai3", "Cdc45", "Alb"]
    assert features["chr"].tolist() == ["3", "16", "5"]  # "chr16" read as "16"
    assert (
        features.loc[GENES[0], "start"] == 108014596 and features.loc[GENES[1], "end"] == 18630737
    )
    assert pd.isna(features.loc[GENES[2], "start"])
    assert features["annotated_by"].tolist()[:2] == ["file", "file"]
    assert pd.isna(features["annotated_by"].iloc[2])
    assert traits.source == path and traits.transform is None


def test_csv_samples_by_features_chosen_by_the_cross_ids(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text(id_column="x"))
    traits = read_traits(path, samples=[*SAMPLES, "DO-999"])
    assert traits.orientation == "samples-x-features"
    assert traits.notes[0] == (
        "orientation: samples-x-features (4 of the 4 row IDs are sample IDs of the cross, "
        "0 of the 3 column IDs)"
    )
    assert_values(traits)


def test_the_cross_ids_outvote_the_file_layout_rules(tmp_path: Path) -> None:
    # Ensembl IDs in the rows would make them features; the cross's IDs say the same here,
    # and in the second file (samples in the rows, Ensembl IDs in the header) the opposite.
    path = tmp_path / "expr.csv"
    path.write_text(features_by_samples_text(annotation=False))
    traits = read_traits(path, samples=SAMPLES)
    assert traits.orientation == "features-x-samples"
    assert "4 of the 4 column IDs" in traits.notes[0]
    assert_values(traits)


def test_tsv_gz_without_the_cross_ids_uses_ensembl_like_row_ids(tmp_path: Path) -> None:
    path = tmp_path / "expr.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(features_by_samples_text(sep="\t", annotation=False).replace("gene", "x", 1))
    traits = read_traits(path)
    assert traits.orientation == "features-x-samples"
    assert "the row IDs are Ensembl IDs" in traits.notes[0]
    assert_values(traits)


def test_txt_gz_samples_by_features_from_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "expr.txt.gz"
    text = samples_by_features_text(sep="\t", id_column="mouse").replace("ENSMUSG0000", "Gene")
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    traits = read_traits(path)
    assert traits.orientation == "samples-x-features"
    assert "the first column is named 'mouse'" in traits.notes[0]
    assert traits.values.shape == (4, 3)


def test_without_other_clues_the_longer_axis_is_features(tmp_path: Path) -> None:
    values = np.arange(20, dtype=float).reshape(5, 4)
    frame = pd.DataFrame(values, columns=["a", "b", "c", "d"])
    frame.insert(0, "x", [f"p{i}" for i in range(5)])
    path = tmp_path / "proteins.csv"
    frame.to_csv(path, index=False)
    traits = read_traits(path)
    assert traits.orientation == "features-x-samples"
    assert traits.values.shape == (4, 5)
    assert "more rows (5) than columns (4)" in traits.notes[0]
    forced = read_traits(path, orientation="samples-x-features")
    assert forced.orientation == "samples-x-features" and forced.values.shape == (5, 4)
    assert forced.notes[0] == "orientation: samples-x-features (as asked with --orientation)"
    np.testing.assert_array_equal(forced.values.to_numpy(), values)


def test_sample_ids_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text("mouse,Alb\n001,1.5\n002,2.5\n")
    traits = read_traits(path)
    assert traits.samples == ["001", "002"]


def test_r_write_csv_layout_with_an_empty_first_header(tmp_path: Path) -> None:
    # R's write.csv(t(expr)) writes the row names under an empty header.
    path = tmp_path / "expr.csv"
    path.write_text(features_by_samples_text(annotation=False).replace("gene", '""', 1))
    traits = read_traits(path)
    assert traits.orientation == "features-x-samples"
    assert_values(traits)
    path.write_text(",M1,M2\nAlb,1,2\nAlb,3,4\n")
    with pytest.raises(InputError, match=r"expr\.csv, the first column \(the IDs\): feature ID "
                       r"'Alb' appears 2 times \(lines 2, 3\)"):  # fmt: skip
        read_traits(path, orientation="features-x-samples")


def test_as_many_matches_on_both_axes_falls_back_to_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text("gene,M1,M2,M3\nM1,1,2,3\nAlb,4,5,6\n")
    traits = read_traits(path, samples=["M1"])
    assert traits.orientation == "features-x-samples"
    assert traits.notes[0] == (
        "orientation: features-x-samples (as many row as column IDs are sample IDs of the "
        "cross; the first column is named 'gene')"
    )


def test_a_byte_order_mark_and_spaces_around_ids_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_bytes("\ufeffmouse, Alb ,Apoe\n001 ,1,2\n002,3,4\n".encode())
    traits = read_traits(path, samples=["001", "002"])
    assert traits.orientation == "samples-x-features"
    assert traits.samples == ["001", "002"] and traits.feature_ids == ["Alb", "Apoe"]


def test_parquet_with_an_index_and_without(tmp_path: Path) -> None:
    by_sample = expected().rename_axis("mouse")
    path = tmp_path / "expr.parquet"
    by_sample.to_parquet(path)
    traits = read_traits(path, samples=SAMPLES)
    assert traits.orientation == "samples-x-features"
    assert_values(traits)

    wide = expected().T.reset_index(names="ensgene")
    wide.insert(1, "symbol", ["Gnai3", "Cdc45", "Alb"])
    wide.insert(2, "chr", ["3", "16", "5"])
    path2 = tmp_path / "expr2.parquet"
    wide.to_parquet(path2, index=False)
    traits2 = read_traits(path2)
    assert traits2.orientation == "features-x-samples"
    assert_values(traits2)
    assert traits2.features["gene_id"].tolist() == GENES
    assert traits2.features["chr"].tolist() == ["3", "16", "5"]


def make_adata(*, sparse: bool = False, build: str | None = "GRCm39") -> object:
    from scipy import sparse as sp

    var = pd.DataFrame(
        {"symbol": ["Gnai3", "Cdc45", "Alb"], "chromosome": ["3", "16", "5"],
         "start": [108014596, 18599197, 90608756], "end": [108053462, 18630737, 90624461]},
        index=GENES,
    )  # fmt: skip
    obs = pd.DataFrame({"sex": ["F", "M", "F", "M"]}, index=SAMPLES)
    matrix = np.nan_to_num(VALUES, nan=0.0)
    adata = anndata.AnnData(X=sp.csr_matrix(matrix) if sparse else matrix, obs=obs, var=var)
    adata.layers["raw"] = sp.csr_matrix(matrix * 10) if sparse else matrix * 10
    if build is not None:
        adata.uns["build"] = build
    return adata


@needs_anndata
def test_h5ad_dense_with_var_annotation_and_build(tmp_path: Path) -> None:
    path = tmp_path / "liver.h5ad"
    make_adata().write_h5ad(path)
    traits = read_traits(path)
    assert traits.orientation == "samples-x-features"
    assert "an .h5ad file has samples as obs" in traits.notes[0]
    np.testing.assert_array_equal(traits.values.to_numpy(), np.nan_to_num(VALUES))
    assert traits.samples == SAMPLES and traits.feature_ids == GENES
    assert traits.features["chr"].tolist() == ["3", "16", "5"]
    assert traits.features["build"].tolist() == ["GRCm39"] * 3
    assert traits.features["annotated_by"].tolist() == ["file"] * 3


@needs_anndata
def test_h5ad_sparse_layer_and_forced_transpose(tmp_path: Path) -> None:
    path = tmp_path / "liver.h5ad"
    make_adata(sparse=True).write_h5ad(path)
    traits = read_traits(path, layer="raw")
    np.testing.assert_array_equal(traits.values.to_numpy(), np.nan_to_num(VALUES) * 10)
    flipped = read_traits(path, orientation="features-x-samples")
    assert flipped.samples == GENES and flipped.feature_ids == SAMPLES
    assert flipped.features.columns[:6].tolist() == [
        "gene_id",
        "symbol",
        "chr",
        "start",
        "end",
        "build",
    ]


@needs_anndata
def test_h5ad_stored_features_by_samples_is_found_with_the_cross_ids(tmp_path: Path) -> None:
    path = tmp_path / "t.h5ad"
    anndata.AnnData(X=np.nan_to_num(VALUES).T, obs=pd.DataFrame(index=GENES),
                    var=pd.DataFrame(index=SAMPLES)).write_h5ad(path)  # fmt: skip
    traits = read_traits(path, samples=SAMPLES)
    assert traits.orientation == "features-x-samples"
    assert traits.samples == SAMPLES and traits.feature_ids == GENES


# ------------------------------------------------------------------ transform


def test_rank_inverse_normal_against_hand_ranks() -> None:
    values = pd.DataFrame(
        {"a": [3.0, 1.0, np.nan, 1.0, 7.0, 2.0], "b": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
         "c": [np.nan] * 5 + [4.0]},
        index=[f"s{i}" for i in range(6)],
    )  # fmt: skip
    out = rank_inverse_normal(values)
    # a: observed 3, 1, 1, 7, 2 -> ranks 4, 1.5, 1.5, 5, 3 (ties averaged); n = 5
    n = 5
    ranks_a = np.array([4.0, 1.5, np.nan, 1.5, 5.0, 3.0])
    np.testing.assert_allclose(out["a"], stats.norm.ppf((ranks_a - 3 / 8) / (n - 2 * 3 / 8 + 1)))
    # b: all tied -> every rank 3.5 of n = 6: the middle, 0
    np.testing.assert_allclose(out["b"], np.zeros(6), atol=1e-15)
    # c: one observation -> rank 1 of 1 -> Phi^-1(0.5) = 0
    assert np.isnan(out["c"].iloc[:5]).all() and out["c"].iloc[5] == 0.0
    assert out.index.equals(values.index) and out.columns.equals(values.columns)


def test_rankint_transform_is_applied_and_stated(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    traits = read_traits(path, transform="rankint")
    assert traits.transform == "rankint"
    assert any(note.startswith("transform: rank-based inverse normal") for note in traits.notes)
    pd.testing.assert_frame_equal(traits.values, rank_inverse_normal(read_traits(path).values))


# ------------------------------------------------------------------ annotation


@pytest.fixture(scope="module")
def gene_table() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "genes" / "mouse_genes_grcm39_ensembl109.csv")


def test_annotate_joins_ids_then_symbols_and_counts(
    tmp_path: Path, gene_table: pd.DataFrame
) -> None:
    # Ensembl ID with a version, a symbol as written, a symbol in another case, a symbol of
    # three genes (Pakap), and a name the table does not have.
    ids = ["ENSMUSG00000029368.7", "Apoe", "GNAI3", "Pakap", "NotAGene1"]
    path = tmp_path / "expr.csv"
    frame = pd.DataFrame(np.arange(10.0).reshape(2, 5), columns=ids)
    frame.insert(0, "mouse", ["m1", "m2"])
    frame.to_csv(path, index=False)
    traits = annotate(read_traits(path), gene_table, build="GRCm39")
    f = traits.features
    table = gene_table.set_index("ensgene")
    alb, apoe, gnai3 = (table.loc[g] for g in
                        ["ENSMUSG00000029368", "ENSMUSG00000002985", "ENSMUSG00000000001"])  # fmt: skip
    assert f.loc["ENSMUSG00000029368.7", ["gene_id", "symbol", "chr"]].tolist() == [
        "ENSMUSG00000029368", "Alb", str(alb.chr)]  # fmt: skip
    assert f.loc["ENSMUSG00000029368.7", "start"] == alb.start
    assert f.loc["Apoe", "gene_id"] == "ENSMUSG00000002985"
    assert (f.loc["Apoe", "start"], f.loc["Apoe", "end"]) == (apoe.start, apoe.end)
    assert f.loc["GNAI3", "gene_id"] == "ENSMUSG00000000001" and f.loc["GNAI3", "chr"] == "3"
    assert f.loc["GNAI3", "end"] == gnai3.end
    assert f["annotated_by"].tolist()[:3] == ["gene_id", "symbol", "symbol (any case)"]
    assert (
        f.loc[["Pakap", "NotAGene1"], ["gene_id", "chr", "start", "annotated_by"]]
        .isna()
        .all()
        .all()
    )
    assert f["build"].eq("GRCm39").all()
    assert traits.notes[-1] == (
        "annotation (GRCm39): 1 by Ensembl gene ID, 1 by symbol, 1 by symbol ignoring case, "
        "1 with ambiguous symbols left unannotated, 1 not in the gene table"
    )


def test_a_gene_listed_once_per_entrez_id_is_not_ambiguous(gene_table: pd.DataFrame) -> None:
    # Adam34 has two rows in the Ensembl table (two Entrez IDs), one Ensembl gene.
    assert (gene_table["symbol"] == "Adam34").sum() == 2
    values = pd.DataFrame({"Adam34": [1.0, 2.0]}, index=["m1", "m2"])
    traits = MolecularTraits(values, _blank(["Adam34"]), "samples-x-features")
    f = annotate(traits, gene_table, build="GRCm39").features
    assert f.loc["Adam34", "gene_id"] == "ENSMUSG00000079058" and f.loc["Adam34", "chr"] == "8"
    assert f.loc["Adam34", "start"] == 44103346


def test_annotate_keeps_the_files_positions_and_fills_the_rest(
    tmp_path: Path, gene_table: pd.DataFrame
) -> None:
    path = tmp_path / "liver.csv"
    path.write_text(features_by_samples_text().replace("108014596", "1000"))
    traits = annotate(read_traits(path), gene_table, build="GRCm39")
    f = traits.features
    assert f.loc[GENES[0], "start"] == 1000  # the file's own position wins
    assert f.loc[GENES[2], "start"] == 90608756 and f.loc[GENES[2], "end"] == 90624461
    assert f["annotated_by"].tolist() == ["file", "file", "gene_id"]
    assert traits.notes[-1].startswith("annotation (GRCm39): 2 placed by the file, 3 by Ensembl")


def test_annotate_accepts_the_gene_table_of_the_translation_engine(tmp_path: Path) -> None:
    from translocus.translate.genes import load_genes

    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    traits = annotate(read_traits(path), load_genes("mouse", "GRCm39").genes, build="GRCm39")
    assert traits.features["symbol"].tolist() == ["Gnai3", "Cdc45", "Alb"]


@needs_anndata
def test_a_different_build_in_the_file_is_refused(tmp_path: Path, gene_table: pd.DataFrame) -> None:
    path = tmp_path / "liver.h5ad"
    make_adata(build="GRCm38").write_h5ad(path)
    with pytest.raises(InputError, match=r"liver\.h5ad, build: the feature positions are on "
                       r"GRCm38 but the gene table is GRCm39"):  # fmt: skip
        annotate(read_traits(path), gene_table, build="GRCm39")
    csv = tmp_path / "t.csv"
    csv.write_text("gene_id,build,M1,M2\nENSMUSG00000000001,mm39,1,2\n")
    same = annotate(read_traits(csv), gene_table, build="GRCm39")  # mm39 is GRCm39
    assert same.features["build"].tolist() == ["GRCm39"]


# ------------------------------------------------------------------ samples and covariates


def test_match_samples_orders_by_the_cross_and_reports_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    traits = read_traits(path)
    kept, match = match_samples(traits, ["DO-004", "DO-002", "DO-777", "DO-001"])
    assert match.matched == ["DO-004", "DO-002", "DO-001"]
    assert match.only_in_traits == ["DO-003"] and match.only_in_cross == ["DO-777"]
    assert kept.samples == ["DO-004", "DO-002", "DO-001"]
    np.testing.assert_array_equal(kept.values.to_numpy(), VALUES[[3, 1, 0]])
    assert kept.notes[-1] == (
        "samples: 3 in both the traits and the cross; 1 only in the traits ('DO-003'); "
        "1 only in the cross ('DO-777')"
    )


def test_rankint_values_are_normal_scores_of_the_matched_samples(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    raw = read_traits(path)
    kept, _ = match_samples(read_traits(path, transform="rankint"), ["DO-001", "DO-003", "DO-004"])
    subset = raw.values.loc[["DO-001", "DO-003", "DO-004"]]
    pd.testing.assert_frame_equal(kept.values, rank_inverse_normal(subset))
    assert kept.transform == "rankint" and "again over the matched samples" in kept.notes[-1]


def test_no_common_sample_is_one_error_with_ids_of_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    with pytest.raises(InputError, match=r"expr\.csv: no sample ID is in the cross; the traits' "
                       r"samples are 'DO-001', .* the cross's are 'A1', 'A2'.*--orientation"):  # fmt: skip
        match_samples(read_traits(path), ["A1", "A2"])


def test_covariate_table_codes_categories_and_reports_unmatched(tmp_path: Path) -> None:
    path = tmp_path / "covar.tsv"
    path.write_text(
        "mouse\tsex\tbatch\tweight\tsite\n"
        "DO-001\tF\tb2\t20.5\tA\nDO-002\tM\tb1\t25\tA\nDO-003\tF\tb3\t\tA\nDO-999\tM\t\t30\tA\n"
    )
    covar = read_covariate_table(path, SAMPLES)
    assert covar.columns.tolist() == ["sex_M", "batch_b2", "batch_b3", "weight"]
    assert covar.index.tolist() == SAMPLES
    np.testing.assert_array_equal(covar["sex_M"].iloc[:3], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(covar["batch_b2"].iloc[:3], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(covar["batch_b3"].iloc[:3], [0.0, 0.0, 1.0])
    assert np.isnan(covar["weight"].iloc[2]) and covar.loc["DO-004"].isna().all()
    notes = covar.attrs["notes"]
    assert "covariate 'batch': categorical with levels b1, b2, b3; coded as 0/1 columns " \
           "batch_b2, batch_b3 (b1 is the reference)" in notes  # fmt: skip
    assert "covariate 'site': one level (A); left out" in notes
    assert "covariates: 1 samples of the cross not in covar.tsv ('DO-004')" in notes
    assert "covariates: 1 samples of covar.tsv not in the cross ('DO-999')" in notes


def test_covariate_table_errors(tmp_path: Path) -> None:
    path = tmp_path / "covar.csv"
    path.write_text("mouse,sex\nDO-001,F\nDO-001,M\n")
    with pytest.raises(InputError, match=r"covar\.csv, column 'mouse': sample ID 'DO-001' "
                       r"appears 2 times \(lines 2, 3\)"):  # fmt: skip
        read_covariate_table(path, SAMPLES)
    path.write_text("mouse,sex\nX1,F\nX2,M\n")
    with pytest.raises(
        InputError, match=r"covar\.csv, column 'mouse': no sample ID is in the cross"
    ):
        read_covariate_table(path, SAMPLES)
    path.write_text("mouse\nDO-001\nDO-002\n")
    with pytest.raises(InputError, match=r"covar\.csv: has 1 column"):
        read_covariate_table(path, SAMPLES)
    with pytest.raises(InputError, match=r"nothere\.csv: file not found; give --covar-file"):
        read_covariate_table(tmp_path / "nothere.csv", SAMPLES)


# ------------------------------------------------------------------ bad input: one error each


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        ("text_value.csv", "mouse,Alb,Apoe\nM1,1.0,2\nM2,high,3\nM3,2.0,x\n",
         r"text_value\.csv, column 'Alb': 1 value is not a number \(line 3: 'high'\)"),
        ("text_fxs.csv", "gene_id,M1,M2\nENSMUSG00000000001,1,2\nENSMUSG00000000028,high,3\n",
         r"text_fxs\.csv, column 'M1': 1 value is not a number \(line 3: 'high'\).*--traits"),
        ("dup_sample.csv", "mouse,Alb\nM1,1\nM2,2\nM1,3\n",
         r"dup_sample\.csv, column 'mouse': sample ID 'M1' appears 2 times \(lines 2, 4\)"),
        ("dup_feature.csv", "mouse,Alb,Apoe,Alb\nM1,1,2,3\n",
         r"dup_feature\.csv, header: column 'Alb' appears twice \(columns 2 and 4\)"),
        ("dup_feature_rows.csv", "gene_id,M1,M2\nENSMUSG00000000001,1,2\nENSMUSG00000000001,3,4\n",
         r"dup_feature_rows\.csv, column 'gene_id': feature ID 'ENSMUSG00000000001' appears 2 "
         r"times \(lines 2, 3\)"),
        ("only_annotation.csv", "gene_id,symbol,chr\nENSMUSG00000000001,Gnai3,3\n",
         r"only_annotation\.csv: has annotation columns but no sample columns"),
        ("header_only.csv", "mouse,Alb,Apoe\n", r"header_only\.csv: has a header but no rows"),
        ("one_column.csv", "mouse\nM1\nM2\n", r"one_column\.csv: has 1 column.*delimiter"),
        ("all_missing.csv", "mouse,Alb,Apoe\nM1,1,\nM2,2,NA\n",
         r"all_missing\.csv, column 'Apoe': feature 'Apoe' has no value in any sample; remove it"),
        ("all_missing_fxs.csv", "gene_id,M1,M2\nENSMUSG00000000001,1,2\nENSMUSG00000000028,,\n",
         r"all_missing_fxs\.csv, line 3 \('ENSMUSG00000000028'\): feature 'ENSMUSG00000000028' "
         r"has no value"),
        ("infinite.csv", "mouse,Alb\nM1,1\nM2,inf\n",
         r"infinite\.csv, column 'Alb', line 3 \('M2'\): 1 value is infinite"),
        ("no_id.csv", "mouse,Alb\nM1,1\n,2\n",
         r"no_id\.csv, column 'mouse': line 3 has no ID; every row needs an ID"),
        ("empty.csv", "", r"empty\.csv: the file is empty; give --traits"),
        ("bad_position.csv", "gene_id,start,M1,M2\nENSMUSG00000000001,abc,1,2\n",
         r"bad_position\.csv, column 'start': 1 gene positions are not numbers"),
    ],
)  # fmt: skip
def test_bad_traits_file_is_one_input_error(
    tmp_path: Path, name: str, text: str, pattern: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=pattern) as info:
        read_traits(path, orientation="auto")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@needs_anndata
@pytest.mark.filterwarnings("ignore:Observation names are not unique")
def test_duplicate_ids_in_h5ad(tmp_path: Path) -> None:
    adata = anndata.AnnData(X=np.ones((3, 2)), obs=pd.DataFrame(index=["a", "b", "a"]),
                            var=pd.DataFrame(index=["g1", "g2"]))  # fmt: skip
    path = tmp_path / "dup.h5ad"
    adata.write_h5ad(path)
    with pytest.raises(InputError, match=r"dup\.h5ad, obs_names: sample ID 'a' appears 2 times"):
        read_traits(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere\.h5ad: file not found; give --traits"):
        read_traits(tmp_path / "nothere.h5ad")
    with pytest.raises(InputError, match=r"is a folder"):
        read_traits(tmp_path)


@needs_anndata
def test_h5ad_without_anndata_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "liver.h5ad"
    make_adata().write_h5ad(path)
    monkeypatch.setitem(sys.modules, "anndata", None)
    with pytest.raises(InputError, match=r"liver\.h5ad: reading \.h5ad files needs the anndata "
                       r"package; pip install 'translocus\[h5ad\]'"):  # fmt: skip
        read_traits(path)


@needs_anndata
def test_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "expr.csv"
    path.write_text(samples_by_features_text())
    with pytest.raises(OptionError) as info:
        read_traits(path, orientation="rows")
    assert info.value.cli_message().startswith("--orientation rows: must be one of auto")
    with pytest.raises(OptionError) as info:
        read_traits(path, transform="log2")
    assert info.value.cli_message() == (
        "--transform log2: must be rankint (rank-based inverse normal) or left out"
    )
    with pytest.raises(OptionError, match=r"layer='raw': expr\.csv is not an \.h5ad file"):
        read_traits(path, layer="raw")
    h5 = tmp_path / "liver.h5ad"
    make_adata().write_h5ad(h5)
    with pytest.raises(OptionError, match=r"layer='counts': liver\.h5ad has no such layer; "
                       r"its layers: raw"):  # fmt: skip
        read_traits(h5, layer="counts")
