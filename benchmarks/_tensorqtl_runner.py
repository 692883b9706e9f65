"""tensorQTL ``map_trans`` on the files ``benchmarks/eqtl_scale.py`` writes (for scale).

Runs in its own virtual environment (tensorqtl is not a dependency of translocus)::

    python3.11 -m venv /tmp/tqenv && /tmp/tqenv/bin/pip install torch==2.13.0 tensorqtl pandas-plink
    /tmp/tqenv/bin/python benchmarks/_tensorqtl_runner.py FOLDER

FOLDER holds ``dosage.bin`` (float64 ``[marker, mouse]``: one dosage per marker, twice the
first founder's allele probability), ``markers.csv``, ``traits.bin`` (float64
``[trait, mouse]``), ``traits.csv``, ``covar.csv`` (id, sex) and ``pheno.csv`` (its index
gives the mouse IDs). tensorQTL's model is one linear regression per marker and trait on the
dosage (1 df) after the covariates, in float32, on CUDA when there is one. Prints one JSON
line: seconds of ``map_trans`` (the data already in memory), the device, the hits at
``pval < 1e-5`` and the torch threads.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tensorqtl import trans

PVAL_THRESHOLD = 1e-5
THREADS = 2


def main() -> None:
    folder = Path(sys.argv[1])
    torch.set_num_threads(THREADS)
    ids = pd.read_csv(folder / "covar.csv", index_col=0).index.astype(str)
    covar = pd.read_csv(folder / "covar.csv", index_col=0)
    covar.index = ids
    markers = pd.read_csv(folder / "markers.csv", dtype={"chr": str, "marker": str})
    traits = pd.read_csv(folder / "traits.csv", dtype={"trait": str}).trait
    n = len(ids)
    dosage = np.fromfile(folder / "dosage.bin").reshape(len(markers), n)
    values = np.fromfile(folder / "traits.bin").reshape(len(traits), n)
    genotype_df = pd.DataFrame(dosage.astype(np.float32), index=markers.marker, columns=ids)
    phenotype_df = pd.DataFrame(values, index=traits, columns=ids)
    t0 = time.perf_counter()
    hits = trans.map_trans(genotype_df, phenotype_df, covar, return_sparse=True,
                           pval_threshold=PVAL_THRESHOLD, maf_threshold=0.0, verbose=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(json.dumps({"seconds": seconds, "device": device, "hits": len(hits),
                      "pval_threshold": PVAL_THRESHOLD, "torch_threads": THREADS,
                      "torch": torch.__version__, "markers": len(markers),
                      "traits": len(traits), "mice": n}))  # fmt: skip


if __name__ == "__main__":
    main()
