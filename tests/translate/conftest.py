"""Shared fixtures: the real reference tables, loaded once per test session."""

from __future__ import annotations

import pytest

from translocus.core.paths import data_dir


def _need(*parts: str) -> None:
    path = data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data missing: {path} (set TRANSLOCUS_DATA)")


@pytest.fixture(scope="session")
def orthology():
    _need("orthology", "biomart_mouse_to_human.csv")
    _need("genes", "mouse_genes_grcm39_ensembl109.csv")
    from translocus.translate.orthology import load_orthology

    return load_orthology()


@pytest.fixture(scope="session")
def engine(orthology):
    _need("gwas", "AD.loci.tsv")
    from translocus.translate.interval import default_engine

    return default_engine()


@pytest.fixture(scope="session")
def mouse_genes():
    _need("genes", "mouse_genes_grcm39_ensembl109.csv")
    from translocus.translate.genes import load_genes

    return load_genes("mouse", "GRCm39")
