"""Effects recomputed from a scan's run folder equal the ones the scan kept.

Haley-Knott: exactly (tests/web/test_api_cause.py, on the BXD scan). LMM with a LOCO kinship
(here): to 1e-5, the tolerance of the null model's REML h² search, since the LOCO matrix is
formed from per-chromosome sums instead of by calc_kinship.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import invoke
from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.genetics import lmm
from translocus.pipelines.effects import ScanInputs, scan_effects

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.zip"


@pytest.fixture(scope="module")
def doex_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DOEX.exists():
        pytest.skip(f"the shared DOex cross is not available at {DOEX}")
    out = tmp_path_factory.mktemp("effects") / "scan"
    lmm._EIGEN_CACHE.clear()  # the scan makes its own decompositions (counted in run.json)
    result = invoke(["scan", str(DOEX), "--pheno", "OF_immobile_pct", "--kinship", "loco",
                     "--covar", "sex", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_lmm_loco_effects_equal_the_scans(doex_scan: Path) -> None:
    peaks = pd.read_csv(doex_scan / "peaks.csv", dtype={"chr": str})
    chrom, trait = str(peaks.chr.iloc[0]), str(peaks.lodcolumn.iloc[0])
    lod = pd.read_parquet(doex_scan / "lod.parquet")
    here = lod[lod.chr.astype(str) == chrom]
    inputs = ScanInputs.from_run(doex_scan)
    effects = scan_effects(inputs, trait, chrom, lod=here[trait].to_numpy(),
                           markers=list(here.marker))  # fmt: skip
    assert effects.method == "lmm"
    kept = pd.read_parquet(doex_scan / "effects_along.parquet")
    both = kept.merge(effects.along, on=["marker", "coefficient"], suffixes=("_kept", ""))
    assert len(both) == len(kept) == len(effects.along)
    np.testing.assert_allclose(both["estimate"], both["estimate_kept"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(both["se"], both["se_kept"], rtol=1e-5, atol=1e-7)
    at_peak = pd.read_csv(doex_scan / "peak_effects.csv")
    assert effects.marker == at_peak.marker.iloc[0]
    pair = at_peak.merge(effects.at_peak, on=["method", "coefficient"], suffixes=("_kept", ""))
    assert len(pair) == len(at_peak) and set(pair.method) == {"coef", "blup"}
    np.testing.assert_allclose(pair["estimate"], pair["estimate_kept"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pair["se"], pair["se_kept"], rtol=1e-5, atol=1e-7)


def test_bad_requests_are_input_errors(doex_scan: Path, tmp_path: Path) -> None:
    inputs = ScanInputs.from_run(doex_scan)
    with pytest.raises(InputError, match="'nope' is not in the scan's cross"):
        scan_effects(inputs, "nope", "2")
    with pytest.raises(InputError, match="no chromosome '42'"):
        scan_effects(inputs, "OF_immobile_pct", "42")
    with pytest.raises(InputError, match="not a translocus scan run folder"):
        ScanInputs.from_run(tmp_path)


def test_blups_along_the_chromosome_end_at_the_peak_blups(doex_scan: Path) -> None:
    """BLUPs along the chromosome at the peak marker equal the scan's BLUPs at the peak."""
    peaks = pd.read_csv(doex_scan / "peaks.csv", dtype={"chr": str})
    chrom, trait = str(peaks.chr.iloc[0]), str(peaks.lodcolumn.iloc[0])
    lod = pd.read_parquet(doex_scan / "lod.parquet")
    here = lod[lod.chr.astype(str) == chrom]
    effects = scan_effects(ScanInputs.from_run(doex_scan), trait, chrom, method="blup",
                           lod=here[trait].to_numpy(), markers=list(here.marker))  # fmt: skip
    assert effects.along_method == "blup" and effects.along["marker"].nunique() <= 200
    at_marker = effects.along[effects.along.marker == effects.marker].set_index("coefficient")
    kept = pd.read_csv(doex_scan / "peak_effects.csv")
    blup = kept[kept.method == "blup"].set_index("coefficient").loc[list("ABCDEFGH")]
    np.testing.assert_allclose(at_marker.loc[blup.index, "estimate"], blup["estimate"],
                               rtol=1e-5, atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(at_marker.loc[blup.index, "se"], blup["se"], rtol=1e-5, atol=1e-7)


def test_effects_reuse_the_scans_loco_decompositions(doex_scan: Path) -> None:
    run = json.loads((doex_scan / "run.json").read_text())
    made = [r for r in run["rows"] if r["what"] == "kinship decompositions made"]
    chromosomes = pd.read_parquet(doex_scan / "lod.parquet").chr.astype(str).nunique()
    assert len(made) == 1 and made[0]["n"] == chromosomes  # one per LOCO matrix, all in all
    peaks = pd.read_csv(doex_scan / "peaks.csv", dtype={"chr": str})
    assert f"({peaks.chr.nunique()} reused" in made[0]["reason"]  # the effects made none
