"""Write the simulated crosses whose R/qtl2 genotype probabilities and HK LODs are the reference.

    cd tests/reference/qtl2/crosstypes && python make_crosses.py && Rscript crosstypes.R
    python make_crosses.py ail3 do    # only these folders (then Rscript crosstypes.R . ail3 do)

One cross per simulated type: 40 individuals or lines (200 for hs and do, whose 36
genotypes, 64 for their phase-known variants, would otherwise nearly saturate the Haley-Knott
fit), two autosomes and an X of about 50
markers each (a third autosome for the types R/qtl2 models without an X), one phenotype,
genotyping errors 1 %, missing calls 5 %. Each folder holds the R/qtl2 input files that
``crosstypes.R`` reads.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from translocus.core.qtl2io import write_cross
from translocus.core.simulate import simulate_cross, simulate_map

#: simulator cross type -> folder (R/qtl2 cross type)
CROSSES = {
    "bc": "bc",
    "f2": "f2",
    "bxd": "risib",
    "riself": "riself",
    "dh": "dh",
    "haploid": "haploid",
    "riself4": "riself4",
    "riself8": "riself8",
    "riself16": "riself16",
    "risib4": "risib4",
    "risib8": "risib8",
    "magic19": "magic19",
    "dh6": "dh6",
    "genril4": "genril4",
    "hs": "hs",
    "genail4": "genail4",
    "ail": "ail",
    "dof1": "dof1",
    "hsf1": "hsf1",
    "ail3": "ail3",
    "do": "do",
}
#: the outbred types whose many genotypes need more animals
LARGE = {"hs", "do"}
CHROMOSOMES = {"1": (60.0, 100.0), "2": (50.0, 80.0), "X": (45.0, 70.0)}
#: types R/qtl2 models without sex chromosomes get a third autosome instead of the X
NO_X = {"riself", "dh", "haploid", "riself4", "riself8", "riself16", "magic19", "dh6"}


def main() -> None:
    here = Path(__file__).parent
    gmap, pmap = simulate_map(n_markers=150, chromosomes=CHROMOSOMES, seed=13)
    maps3 = [{("3" if c == "X" else c): m.rename("3" if c == "X" else c) for c, m in mp.items()}
             for mp in (gmap, pmap)]  # fmt: skip
    only = set(sys.argv[1:])
    for i, (cross_type, folder) in enumerate(CROSSES.items()):
        if only and folder not in only:
            continue
        gm, pm = maps3 if cross_type in NO_X else (gmap, pmap)
        sim = simulate_cross(
            cross_type=cross_type,  # type: ignore[arg-type]
            n=200 if cross_type in LARGE else 40,
            seed=100 + i,
            gmap=gm,
            pmap=pm,
            n_traits=1,
            qtl_variance=0.3,
            error_rate=0.01,
            missing_rate=0.05,
            inbreeding_generations=20,
            ngen=6,
            n_breeding_pairs=30,
            n_funnels=20,
        )
        target = here / folder / "cross"
        shutil.rmtree(target, ignore_errors=True)
        write_cross(sim.cross, target, name=folder)
        if cross_type == "ail":
            # the same animals read as from an A x B founding cross only: R/qtl2's other X model
            info = sim.cross.cross_info.assign(direction=0)
            target = here / "ail_ab" / "cross"
            shutil.rmtree(target, ignore_errors=True)
            write_cross(replace(sim.cross, cross_info=info), target, name="ail_ab")


if __name__ == "__main__":
    main()
