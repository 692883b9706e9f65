"""Genetics engine: genotype probabilities, kinship and genome scans."""

from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob, insert_pseudomarkers
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.mapfunctions import map_to_rf, rf_to_map

__all__ = [
    "calc_genoprob",
    "calc_kinship",
    "genoprob_to_alleleprob",
    "insert_pseudomarkers",
    "map_to_rf",
    "rf_to_map",
]

# genome scan (cause engine)
from translocus.genetics.effects import Fit1Result, fit1, scan1blup, scan1coef  # noqa: E402
from translocus.genetics.herit import est_herit  # noqa: E402
from translocus.genetics.peaks import bayes_int, find_peaks, lod_int  # noqa: E402
from translocus.genetics.permute import permutation_matrix, scan_perm  # noqa: E402
from translocus.genetics.plot import plot_lod, plot_lod_interactive  # noqa: E402
from translocus.genetics.results import PermutationResult, ScanResult  # noqa: E402
from translocus.genetics.scan import scan, x_covar  # noqa: E402

__all__ += [
    "Fit1Result",
    "PermutationResult",
    "ScanResult",
    "bayes_int",
    "est_herit",
    "find_peaks",
    "fit1",
    "lod_int",
    "permutation_matrix",
    "plot_lod",
    "plot_lod_interactive",
    "scan",
    "scan1blup",
    "scan1coef",
    "scan_perm",
    "x_covar",
]
