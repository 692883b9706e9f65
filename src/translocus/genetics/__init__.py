"""Cause engine: genotype probabilities, kinship, genome scans, permutations and effects.

Reproduces R/qtl2 0.43-5 (see ``docs/architecture.md``). One model (:class:`ModelSpec`) is
shared by :func:`scan`, :func:`scan_perm` and the effect estimates; where a scan runs is an
argument (``backend="cpu"|"torch"``, ``device=``, ``client=`` for a Dask cluster,
``threads=``), with the same answers everywhere.
"""

from translocus.genetics.accelerated import scan_accelerated
from translocus.genetics.crosstypes.phase_known import guess_phase, is_phase_known
from translocus.genetics.distributed import (
    StoredProbs,
    permutations_distributed,
    scan_distributed,
)
from translocus.genetics.effects import Fit1Result, fit1, scan1blup, scan1coef
from translocus.genetics.estmap import EstimatedMap, est_map
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob, insert_pseudomarkers
from translocus.genetics.herit import est_herit
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.mapfunctions import map_to_rf, rf_to_map
from translocus.genetics.peaks import bayes_int, find_peaks, lod_int
from translocus.genetics.permute import permutation_matrix, scan_perm
from translocus.genetics.plot import plot_coef, plot_lod, plot_lod_interactive
from translocus.genetics.qc import (
    GenoComparison,
    calc_errorlod,
    calc_het,
    compare_geno,
    find_dup_markers,
    n_missing,
    n_typed,
    percent_missing,
    read_intensities,
    recorded_sex,
    sex_check_genotypes,
    sex_check_intensities,
)
from translocus.genetics.reconstruct import GenotypeCalls, count_xo, maxmarg, viterbi
from translocus.genetics.results import PermutationResult, ScanResult
from translocus.genetics.scan import cross_covariates, scan, x_covar
from translocus.genetics.simgeno import GenotypeDraws, sim_geno
from translocus.genetics.snps import (
    SnpScan,
    create_gene_query_func,
    create_variant_query_func,
    genoprob_to_snpprob,
    index_snps,
    scan1snps,
    top_snps,
)
from translocus.genetics.spec import ModelSpec

__all__ = [
    "EstimatedMap",
    "Fit1Result",
    "GenoComparison",
    "GenotypeCalls",
    "GenotypeDraws",
    "ModelSpec",
    "PermutationResult",
    "ScanResult",
    "SnpScan",
    "StoredProbs",
    "bayes_int",
    "calc_errorlod",
    "calc_genoprob",
    "calc_het",
    "calc_kinship",
    "compare_geno",
    "count_xo",
    "create_gene_query_func",
    "create_variant_query_func",
    "cross_covariates",
    "est_herit",
    "est_map",
    "find_dup_markers",
    "find_peaks",
    "fit1",
    "genoprob_to_alleleprob",
    "genoprob_to_snpprob",
    "guess_phase",
    "index_snps",
    "insert_pseudomarkers",
    "is_phase_known",
    "lod_int",
    "map_to_rf",
    "maxmarg",
    "n_missing",
    "n_typed",
    "percent_missing",
    "permutation_matrix",
    "permutations_distributed",
    "plot_coef",
    "plot_lod",
    "plot_lod_interactive",
    "read_intensities",
    "recorded_sex",
    "rf_to_map",
    "scan",
    "scan1blup",
    "scan1coef",
    "scan1snps",
    "scan_accelerated",
    "scan_distributed",
    "scan_perm",
    "sex_check_genotypes",
    "sex_check_intensities",
    "sim_geno",
    "top_snps",
    "viterbi",
    "x_covar",
]
