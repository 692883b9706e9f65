"""Phase-known cross types and phase guessing against R/qtl2 and the unphased models.

``guess_phase`` references (qtl2 0.43-5) by ``tests/reference/qtl2/crosstypes/guess_phase.R``::

    pr <- calc_genoprob(x, error_prob=0.002)
    guess_phase(x, maxmarg(pr), deterministic=TRUE)    # guess_phase/<cross>.csv.gz
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.qtl2io import read_cross
from translocus.genetics.crosstypes import get_cross_model
from translocus.genetics.crosstypes.phase_known import (
    guess_phase,
    is_phase_known,
    phase_known_crosstype,
)
from translocus.genetics.genoprob import calc_genoprob
from translocus.genetics.reconstruct import maxmarg

REF = Path(__file__).parents[1] / "reference" / "qtl2" / "crosstypes"
RF = np.array([1e-6, 0.01, 0.1, 0.3, 0.5])


def _cross(folder: str):
    return read_cross(REF / folder / "cross" / f"{folder}.json")


@pytest.mark.parametrize("folder", ["f2", "ail", "ail3", "do", "genail4"])
def test_guess_phase_matches_r_qtl2(folder):
    cross = _cross(folder)
    phased = guess_phase(cross, maxmarg(calc_genoprob(cross, error_prob=0.002)))
    ref = pd.read_csv(REF / "guess_phase" / f"{folder}.csv.gz", dtype={"chr": str})
    assert isinstance(phased, dict) and set(phased) == set(ref["chr"])
    for chrom, rows in ref.groupby("chr"):
        arr = phased[chrom]
        sample = pd.Index(arr.sample.values).get_indexer(rows["ind"])
        marker = pd.Index(arr.marker.values).get_indexer(rows["marker"])
        got = arr.values[sample, marker, :]
        want = rows[["mom", "dad"]].fillna(0).to_numpy(dtype=np.int64)
        np.testing.assert_array_equal(got, want)


def test_guess_phase_leaves_phase_known_calls_alone():
    cross = _cross("risib")
    calls = maxmarg(calc_genoprob(cross, error_prob=0.002))
    assert guess_phase(cross, calls) is calls
    with pytest.raises(InputError, match="imputed for"):
        guess_phase(replace(cross, crosstype="f2"), calls)


def test_random_phase_keeps_the_alleles():
    cross = _cross("ail3")
    calls = maxmarg(calc_genoprob(cross, error_prob=0.002))
    fixed = guess_phase(cross, calls)
    drawn = guess_phase(cross, calls, deterministic=False, random_state=5)
    assert isinstance(fixed, dict) and isinstance(drawn, dict)
    for chrom in ("1", "X"):
        a, b = np.sort(fixed[chrom].values, axis=2), np.sort(drawn[chrom].values, axis=2)
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(fixed[c].values, drawn[c].values) for c in fixed)


def test_is_phase_known_is_r_qtl2s():
    """qtl2:::.is_phase_known(<type>) in R/qtl2 0.43-5."""
    r_says = {"bc": True, "f2": False, "f2pk": True, "ail": False, "ailpk": True, "ail3": False,
              "ail3pk": True, "do": False, "dopk": True, "hs": False, "hspk": True, "dof1": True,
              "hsf1": True, "risib": True, "riself8": True, "magic19": True, "genril4": True,
              "genail4": False, "dh6": True, "haploid": True}  # fmt: skip
    assert {t: is_phase_known(t) for t in r_says} == r_says
    assert phase_known_crosstype("hs") == "hspk"


@pytest.mark.parametrize(
    ("phased", "unphased", "info"),
    [("f2pk", "f2", [0]), ("ailpk", "ail", [7, 2]), ("ailpk", "ail", [7, 0]),
     ("ailpk", "ail", [7, 1]), ("dopk", "do", [9])],
)  # fmt: skip
def test_phased_chain_lumps_to_the_unphased_one(phased, unphased, info):
    """Summing a phase-known chain over the two phases of each right-hand genotype gives the
    unphased chain, from either phase of the left-hand one; the priors add up likewise."""
    pk, up = get_cross_model(phased), get_cross_model(unphased)
    ci = np.array(info)
    for is_x, is_female in ((False, True), (True, True), (True, False)):
        args = {"is_x": is_x, "is_female": is_female, "cross_info": ci}
        lump = _lumping(pk, up, is_x)
        t_pk, t_up = pk.transition(RF, **args), up.transition(RF, **args)
        np.testing.assert_allclose(t_pk @ lump, lump[None] @ t_up, atol=1e-14)
        np.testing.assert_allclose(pk.init(**args) @ lump, up.init(**args), atol=1e-15)


def test_ail3pk_lumps_to_ail3_except_from_homozygotes():
    """R/qtl2's ail3 step is the lumped ail3pk chain from heterozygotes; from homozygotes it
    has half the probability of moving to a heterozygote (see ail3.py)."""
    pk, up = get_cross_model("ail3pk"), get_cross_model("ail3")
    args = {"is_x": False, "is_female": True, "cross_info": np.array([8])}
    lump = _lumping(pk, up, False)
    lumped = (pk.transition(RF, **args) @ lump)[:, :6]  # from the unphased-ordered pairs
    t_up = up.transition(RF, **args)
    het, hom = [1, 3, 4], [0, 2, 5]
    np.testing.assert_allclose(lumped[:, het], t_up[:, het], atol=1e-14)
    np.testing.assert_allclose(lumped[:, hom][:, :, hom], t_up[:, hom][:, :, hom], atol=1e-14)
    to_het = t_up[:, hom][:, :, het]
    np.testing.assert_allclose(lumped[:, hom][:, :, het], 2 * to_het, atol=1e-14)


def test_hspk_is_r_qtl2s_dopk_chain():
    rf_args = {"is_x": False, "is_female": True, "cross_info": np.array([10])}
    hspk, dopk = get_cross_model("hspk"), get_cross_model("dopk")
    np.testing.assert_array_equal(hspk.transition(RF, **rf_args), dopk.transition(RF, **rf_args))
    lumped = hspk.transition(RF, **rf_args) @ _lumping(hspk, get_cross_model("hs"), False)
    assert not np.allclose(lumped[:, :36], get_cross_model("hs").transition(RF, **rf_args))


def _lumping(pk, up, is_x: bool) -> np.ndarray:
    """``[phased, unphased]`` 0/1: which unphased genotype each phased one is."""
    names_pk = pk.genotype_names(("A", "B", "C", "D", "E", "F", "G", "H"), is_x)
    names_up = up.genotype_names(("A", "B", "C", "D", "E", "F", "G", "H"), is_x)
    if names_pk == names_up:  # the f2pk X is the f2 X
        return np.eye(len(names_pk))
    key = {g: "".join(sorted(g)) if not g.endswith("Y") else g for g in names_up}
    up_index = {k: i for i, (g, k) in enumerate(key.items())}
    out = np.zeros((len(names_pk), len(names_up)))
    for i, g in enumerate(names_pk):
        k = "".join(sorted(g)) if not g.endswith("Y") else g
        if k in up_index:
            out[i, up_index[k]] = 1.0
    return out


@pytest.mark.parametrize(
    ("phased", "folder"), [("f2pk", "f2"), ("ailpk", "ail_ab"), ("dopk", "do")]
)
def test_phased_probabilities_add_up_to_the_unphased_ones(phased, folder):
    """The HMM of a lumpable phase-known chain gives, summed over the two phases, the unphased
    type's genotype probabilities (a closed-form identity, here to 1e-12)."""
    cross = _cross(folder)
    sub = replace(cross, individuals=cross.individuals[:12])
    sub = replace(sub, geno={c: g[:12] for c, g in cross.geno.items()})
    unphased = calc_genoprob(sub, error_prob=0.002)
    pk = calc_genoprob(replace(sub, crosstype=phased), error_prob=0.002)
    for chrom in unphased.probs:
        is_x = chrom == cross.x_chr
        lump = _lumping(get_cross_model(phased), get_cross_model(cross.crosstype), is_x)
        got = pk[chrom].values @ lump
        np.testing.assert_allclose(got, unphased[chrom].values, rtol=0, atol=1e-12)
