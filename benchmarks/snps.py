"""SNP association speed beside R/qtl2 0.43-5 (cores=1), in one run.

DOex (261 DO mice), the variants of chr 2, 96.5-98.5 Mbp in R/qtl2's small database (13,836
variants, 49 distinct patterns): the region query, ``index_snps``, ``genoprob_to_snpprob`` and
``scan1snps`` by Haley-Knott and by LMM with LOCO kinship (query included, as R's
``scan1snps(query_func=)``). The probabilities and kinship are computed once, outside the
timings. Each step runs ``--repeat`` times on one thread and the smallest elapsed time is kept
(seconds); R's steps are timed the same way in one ``Rscript`` run.

Run: python benchmarks/snps.py [--repeat 5] [--out benchmarks/results/snps.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from translocus.core.atomic import atomic_write_text
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.core.threads import thread_limit
from translocus.genetics import snps
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship

REGION = ("2", 96.5, 98.5)
STEPS = ("query", "index_snps", "genoprob_to_snpprob", "scan1snps HK", "scan1snps LMM LOCO")

R_SCRIPT = r"""
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- args[1]; repeats <- as.integer(args[2])
DOex <- read_cross2(file.path(data, "DOex", "DOex.json"), quiet=TRUE)
apr <- genoprob_to_alleleprob(calc_genoprob(DOex, error_prob=0.002, map_function="c-f"))
k <- calc_kinship(apr, "loco")
q <- create_variant_query_func(file.path(data, "variants", "cc_variants_small.sqlite"))
best <- function(expr) {
  e <- substitute(expr)
  env <- parent.frame()
  min(sapply(seq_len(repeats), function(i) system.time(eval(e, env))[["elapsed"]]))
}
v <- q("2", 96.5, 98.5)
info <- index_snps(DOex$pmap, v)
out <- c(
  query = best(q("2", 96.5, 98.5)),
  index_snps = best(index_snps(DOex$pmap, v)),
  genoprob_to_snpprob = best(genoprob_to_snpprob(apr, info)),
  "scan1snps HK" = best(scan1snps(apr, DOex$pmap, DOex$pheno, query_func=q, chr=2,
                                   start=96.5, end=98.5, cores=1)),
  "scan1snps LMM LOCO" = best(scan1snps(apr, DOex$pmap, DOex$pheno, kinship=k, query_func=q,
                                         chr=2, start=96.5, end=98.5, cores=1)))
for(n in names(out)) cat(n, "\t", sprintf("%.4f", out[[n]]), "\n", sep="")
"""


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with thread_limit(1):
            fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_python(repeat: int) -> dict[str, float]:
    cross = read_cross(data_dir() / "qtl2" / "DOex" / "DOex.json")
    apr = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=0.002, map_function="c-f"))
    kinship = calc_kinship(apr, type="loco")
    chr2 = apr.subset(chromosomes=["2"])
    query = snps.create_variant_query_func()
    variants = query(*REGION)
    indexed = snps.index_snps(chr2, variants)
    chrom, start, end = REGION
    snps.scan1snps(chr2, cross.pheno, chromosome=chrom, start=start, end=end, kinship=kinship)
    steps: dict[str, Callable[[], Any]] = {
        "query": lambda: query(*REGION),
        "index_snps": lambda: snps.index_snps(chr2, variants),
        "genoprob_to_snpprob": lambda: snps.genoprob_to_snpprob(chr2, indexed),
        "scan1snps HK": lambda: snps.scan1snps(
            chr2, cross.pheno, chromosome=chrom, start=start, end=end
        ),  # fmt: skip
        "scan1snps LMM LOCO": lambda: snps.scan1snps(
            chr2, cross.pheno, chromosome=chrom, start=start, end=end, kinship=kinship
        ),  # fmt: skip
    }
    return {name: _best(fn, repeat) for name, fn in steps.items()}


def run_r(repeat: int) -> dict[str, float] | None:
    env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/rlib")}
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
        handle.write(R_SCRIPT)
    try:
        done = subprocess.run(["Rscript", handle.name, str(data_dir() / "qtl2"), str(repeat)],
                              capture_output=True, text=True, env=env, check=False)  # fmt: skip
    except FileNotFoundError:
        return None
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        print("R/qtl2 failed:", done.stderr.strip().splitlines()[-1:])
        return None
    out = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("\t")
        out[name] = float(value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/snps.json")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    python = run_python(args.repeat)
    r = run_r(args.repeat)
    load_after = os.getloadavg()[0]
    print(f"{'step':24s} {'translocus s':>13s} {'R/qtl2 s':>10s} {'speed-up':>9s}")
    for step in STEPS:
        ours = python[step]
        theirs = (r or {}).get(step)
        ratio = f"{theirs / ours:8.1f}x" if theirs is not None else "        -"
        shown = f"{theirs:10.4f}" if theirs is not None else "         -"
        print(f"{step:24s} {ours:13.4f} {shown} {ratio}")
    record = {
        "what": "SNP association, DOex chr 2 96.5-98.5 Mbp (13,836 variants), one thread, "
        "best elapsed of repeats",
        "repeat": args.repeat,
        "load_average": [load_before, load_after],
        "translocus_s": python,
        "rqtl2_s": r,
    }
    atomic_write_text(Path(args.out), json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
