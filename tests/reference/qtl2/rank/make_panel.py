"""Write the recombinant-inbred panel whose R/qtl2 LODs test the rank rule of the scans.

    cd tests/reference/qtl2/rank && python make_panel.py && Rscript rank.R

A simulated 8-way RIL panel (risib8, 60 lines, three autosomes) in which founder H is lost from
every line (where a line descends from H its calls are those of founder A) and founder G is
nearly lost (it stays in one line only; elsewhere its segments are called as founder B). The
genotype probabilities of H, and of G away from that line, are then tiny (1e-8 to far below
1e-16): columns that R/qtl2's pivoted QR keeps or drops by its 1e-12 relative-pivot rule.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from translocus.core.qtl2io import write_cross
from translocus.core.simulate import simulate_cross, simulate_map

CHROMOSOMES = {"1": (60.0, 100.0), "2": (50.0, 80.0), "3": (45.0, 70.0)}
LOST, KEEP_AS_LOST = 7, 0  # H is called as A
NEAR, KEEP_AS_NEAR = 6, 1  # G is called as B, but in the first line that carries it


def main() -> None:
    here = Path(__file__).parent
    gmap, pmap = simulate_map(n_markers=300, chromosomes=CHROMOSOMES, seed=29)
    sim = simulate_cross(cross_type="risib8", n=60, seed=31, gmap=gmap, pmap=pmap, x_chr=None,
                         n_traits=2, qtl_variance=0.3, error_rate=0.0, missing_rate=0.02,
                         inbreeding_generations=60)  # fmt: skip
    cross = sim.cross
    assert cross.founder_geno is not None
    keeper = None
    geno = {}
    founder_geno = {}
    for chrom, calls in cross.geno.items():
        hap = sim.mosaic.founders_at(chrom=chrom, positions=gmap[chrom].to_numpy())[:, 0, :]
        fg = cross.founder_geno[chrom]
        new = calls.copy()
        if keeper is None and np.any(hap == NEAR):
            keeper = int(np.nonzero((hap == NEAR).any(axis=1))[0][0])
        for founder, other in ((LOST, KEEP_AS_LOST), (NEAR, KEEP_AS_NEAR)):
            hit = hap == founder
            if founder == NEAR and keeper is not None:
                hit[keeper] = False
            lines, markers = np.nonzero(hit & (calls > 0))
            new[lines, markers] = fg[other, markers]
        geno[chrom] = new
        # H differs from A, and G from B, at every marker: their absence is seen everywhere
        fg = fg.copy()
        fg[LOST] = 4 - fg[KEEP_AS_LOST]
        fg[NEAR] = 4 - fg[KEEP_AS_NEAR]
        founder_geno[chrom] = fg
    target = here / "cross"
    shutil.rmtree(target, ignore_errors=True)
    write_cross(replace(cross, geno=geno, founder_geno=founder_geno), target, name="rank")


if __name__ == "__main__":
    main()
