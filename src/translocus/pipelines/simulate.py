"""``simulate``: a seeded DO, BXD or F2 cross with known QTL, written as R/qtl2 files.

With ``genes`` above 0 the cross is simulated on the GRCm39 map (:func:`mouse_map`) and a
molecular data set of that many real mouse genes comes with it (local eQTL, trans hotspots
through mediator genes, background, sex and batch: :func:`simulate_expression`); its files
join the cross's in the run folder.

>>> request = SimulateRequest(cross="f2", n=40, markers=100, traits=1, seed=3)
>>> output = run_simulate(request)
>>> output.summary()["individuals"], output.summary()["markers"]
(40, 100)
>>> SimulateRequest(n=1).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: n=1: must be at least 2 animals (or strains)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translocus.core.errors import OptionError
from translocus.core.runs import RunLog
from translocus.core.simulate import SimulatedCross
from translocus.core.simulate_molecular import SimulatedExpression

__all__ = [
    "CROSS_TYPES", "SimulateOutput", "SimulateRequest", "hotspot_targets", "run_simulate",
]  # fmt: skip

CROSS_TYPES = (
    "do", "bxd", "f2", "bc", "riself", "dh", "haploid", "riself4", "riself8", "riself16",
    "risib4", "risib8", "magic19", "dh6", "hs", "ail", "ail3", "dof1", "hsf1",
)  # fmt: skip
_GENERAL = re.compile(r"^gen(ril|ail)([2-9]|[1-9][0-9]+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Hotspot targets at 20,000 genes; fewer genes scale them down in proportion.
_HOTSPOT_TARGETS = (100, 300)
_FULL_GENES = 20000
_MAX_GENES = 21000  # protein-coding genes with a symbol on chromosomes 1-19 and X: 21,4xx


@dataclass(frozen=True)
class SimulateRequest:
    """Options of ``translocus simulate`` (see its ``--help``)."""

    cross: str = "do"
    n: int = 500
    seed: int = 1
    markers: int = 2000
    error_rate: float = 0.002
    ngen: int = 12
    traits: int = 3
    name: str = "sim"
    genes: int = 0

    def validate(self) -> None:
        if self.cross not in CROSS_TYPES and not _GENERAL.match(self.cross):
            raise OptionError(
                "cross", self.cross, f"use one of {', '.join(CROSS_TYPES)}, genril<N> or genail<N>"
            )
        if self.n < 2:
            raise OptionError("n", self.n, "must be at least 2 animals (or strains)")
        if self.markers < 20:
            raise OptionError("markers", self.markers, "must be at least 20 (one per chromosome)")
        if not 0 <= self.error_rate < 0.5:
            raise OptionError(
                "error_rate", self.error_rate, "must be a probability in [0, 0.5), e.g. 0.002"
            )
        if self.ngen < 1:
            raise OptionError("ngen", self.ngen, "must be 1 or more generations")
        if self.traits < 0:
            raise OptionError("traits", self.traits, "must be 0 or more")
        if self.genes != 0 and not 20 <= self.genes <= _MAX_GENES:
            raise OptionError(
                "genes",
                self.genes,
                f"use 0 (no expression data) or 20 to {_MAX_GENES:,} genes (the protein-coding "
                "genes of chromosomes 1-19 and X)",
            )
        if self.genes and self.n < 10:
            raise OptionError("n", self.n, "simulate at least 10 animals with {genes}")
        if self.genes and self.markers < 40:
            raise OptionError(
                "markers", self.markers, "use at least 40 with {genes} (two per chromosome)"
            )
        if not _NAME.match(self.name):
            raise OptionError(
                "name", self.name, "must be a plain file prefix (letters, digits, _ . -)"
            )


@dataclass
class SimulateOutput:
    """A simulated cross, ready to be written as R/qtl2 files plus its truth table."""

    request: SimulateRequest
    sim: SimulatedCross
    expression: SimulatedExpression | None = None

    def write(self, folder: Path) -> None:
        from translocus.core.simulate import write_simulated_files
        from translocus.core.simulate_molecular import write_expression_files

        write_simulated_files(self.sim, folder, name=self.request.name)
        if self.expression is not None:
            write_expression_files(self.expression, folder, name=self.request.name, cross=False)

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = dict(self.sim.cross.summary())
        out: dict[str, Any] = {
            "cross": self.request.cross,
            "individuals": int(s["individuals"]),
            "markers": int(s["markers"]),
            "chromosomes": int(s["chromosomes"]),
            "phenotypes": int(s["phenotypes"]),
            "control_file": f"{self.request.name}.json",
            "qtl": int(len(self.sim.truth)),
        }
        if self.expression is not None:
            kinds = self.expression.truth["kind"].value_counts()
            out["genes"] = int(self.expression.expression.shape[1])
            out["local_eqtl"] = int(kinds.get("local", 0) + kinds.get("mediator", 0))
            out["hotspots"] = int(len(self.expression.hotspots))
            out["hotspot_targets"] = int(kinds.get("distal", 0))
        return out


def hotspot_targets(genes: int) -> tuple[int, int]:
    """Targets per hotspot: 100-300 at 20,000 genes, in proportion below (at least 1-3).

    >>> hotspot_targets(20000), hotspot_targets(1000)
    ((100, 300), (5, 15))
    """
    share = min(genes, _FULL_GENES) / _FULL_GENES
    lo, hi = _HOTSPOT_TARGETS
    return max(1, round(lo * share)), max(3, round(hi * share))


def run_simulate(request: SimulateRequest, log: RunLog | None = None) -> SimulateOutput:
    """Simulate the cross ``request`` describes (and its expression data with ``genes``)."""
    from translocus.core.simulate import simulate_cross
    from translocus.core.simulate_molecular import mouse_map, simulate_expression

    request.validate()
    log = log or RunLog()
    gmap = pmap = None
    if request.genes:  # the genes need the GRCm39 chromosome lengths
        gmap, pmap = mouse_map(n_markers=request.markers, seed=request.seed)
    with log.step("simulate cross"):
        sim = simulate_cross(
            cross_type=request.cross,  # type: ignore[arg-type]
            n=request.n,
            seed=request.seed,
            n_markers=request.markers,
            gmap=gmap,
            pmap=pmap,
            error_rate=request.error_rate,
            ngen=request.ngen,
            n_traits=request.traits,
        )
    log.add_provenance(sim.cross.provenance)
    expression = None
    if request.genes:
        with log.step("simulate expression"):
            expression = simulate_expression(
                n_genes=request.genes,
                seed=request.seed,
                hotspot_targets=hotspot_targets(request.genes),
                cross=sim,
            )
    return SimulateOutput(request, sim, expression)
