"""The model of a genome scan, given once and shared by the scan and its permutations.

:class:`ModelSpec` holds what R/qtl2's ``scan1`` and ``scan1perm`` take besides the genotype
probabilities: phenotypes, covariates, weights, kinship and REML. ``scan(probs=probs, spec=spec)``
and ``scan_perm(probs=probs, spec=spec, n_perm=1000)`` then fit the same model; the keyword
arguments of each function keep working, and giving both is an error.

>>> import numpy as np, pandas as pd
>>> pheno = pd.DataFrame({"BW": [21.0, 24.5, 19.8]}, index=["m1", "m2", "m3"])
>>> spec = ModelSpec(phenotypes=pheno, reml=False)
>>> spec.reml, spec.kinship is None
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translocus.core.errors import InputError
from translocus.core.threads import thread_limit

__all__ = ["ModelSpec", "resolve_spec", "thread_limit"]

# the scan's keyword arguments that a ModelSpec replaces (besides ``pheno`` and ``reml``)
MODEL_ARGUMENTS = ("kinship", "addcovar", "Xcovar", "intcovar", "weights")


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A single-QTL model: phenotypes, covariates, weights and kinship (R/qtl2 ``scan1``).

    Frozen: ``dataclasses.replace(spec, kinship=loco)`` gives a changed copy. The tables are
    validated against the genotype probabilities when a scan uses them.

    Attributes
    ----------
    phenotypes
        ``[sample, trait]`` numeric table (DataFrame indexed by sample ID, Series or
        ``xr.DataArray``); each trait keeps its own non-missing individuals.
    addcovar
        ``[sample, covariate]`` numeric additive covariates (e.g. sex as 0/1).
    Xcovar
        Covariates added to the null model of the X chromosome only (``x_covar(cross)``).
    intcovar
        Interactive covariates (genotype x covariate terms; also added to ``addcovar``).
    weights
        Positive per-sample weights (residual variance ``∝ 1/weight``).
    kinship
        ``None`` for Haley-Knott regression; a ``[sample, sample]`` kinship matrix for an LMM,
        or a mapping ``chromosome -> matrix`` for LOCO (``calc_kinship(type="loco")``).
    reml
        Estimate h² by REML (the default, as R/qtl2) or, if ``False``, ML.
    """

    phenotypes: Any
    addcovar: Any = None
    Xcovar: Any = None
    intcovar: Any = None
    weights: Any = None
    kinship: Any = None
    reml: bool = True

    def __post_init__(self) -> None:
        if self.phenotypes is None:
            raise InputError("ModelSpec needs phenotypes: ModelSpec(phenotypes=table, ...)")
        if not isinstance(self.reml, bool):
            raise InputError(f"ModelSpec reml={self.reml!r} must be True (REML) or False (ML)")


def resolve_spec(pheno: Any, spec: ModelSpec | None, reml: bool | None, entry: str,
                 **model: Any) -> ModelSpec:  # fmt: skip
    """The model of one call: ``spec``, or one built from the old keyword arguments.

    ``pheno`` may itself be a :class:`ModelSpec` (``scan(spec, probs)``). Giving a spec and
    any model argument as well is an error, since one of them would be silently ignored.
    """
    if isinstance(pheno, ModelSpec):
        if spec is not None:
            raise InputError(f"{entry}: give the model once, as spec= or as the first argument")
        pheno, spec = None, pheno
    if spec is None:
        if pheno is None:
            raise InputError(f"{entry}: give the phenotypes (pheno=table) or a model (spec=)")
        return ModelSpec(phenotypes=pheno, reml=True if reml is None else reml, **model)
    if not isinstance(spec, ModelSpec):
        raise InputError(f"{entry}: spec must be a ModelSpec, not {type(spec).__name__}")
    given = [name for name, value in (("pheno", pheno), ("reml", reml), *model.items())
             if value is not None]  # fmt: skip
    if given:
        raise InputError(f"{entry}: {', '.join(given)} given both as arguments and in spec; "
                         "put them in the ModelSpec (dataclasses.replace(spec, ...))")  # fmt: skip
    return spec
