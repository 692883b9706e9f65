"""``simulate``: a seeded DO, BXD or F2 cross with known QTL, written as R/qtl2 files.

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

__all__ = ["CROSS_TYPES", "SimulateOutput", "SimulateRequest", "run_simulate"]

CROSS_TYPES = (
    "do", "bxd", "f2", "bc", "riself", "dh", "haploid", "riself4", "riself8", "riself16",
    "risib4", "risib8", "magic19", "dh6", "hs", "ail", "ail3", "dof1", "hsf1",
)  # fmt: skip
_GENERAL = re.compile(r"^gen(ril|ail)([2-9]|[1-9][0-9]+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
        if not _NAME.match(self.name):
            raise OptionError(
                "name", self.name, "must be a plain file prefix (letters, digits, _ . -)"
            )


@dataclass
class SimulateOutput:
    """A simulated cross, ready to be written as R/qtl2 files plus its truth table."""

    request: SimulateRequest
    sim: SimulatedCross

    def write(self, folder: Path) -> None:
        from translocus.core.simulate import write_simulated_files

        write_simulated_files(self.sim, folder, name=self.request.name)

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = dict(self.sim.cross.summary())
        return {
            "cross": self.request.cross,
            "individuals": int(s["individuals"]),
            "markers": int(s["markers"]),
            "chromosomes": int(s["chromosomes"]),
            "phenotypes": int(s["phenotypes"]),
            "control_file": f"{self.request.name}.json",
            "qtl": int(len(self.sim.truth)),
        }


def run_simulate(request: SimulateRequest, log: RunLog | None = None) -> SimulateOutput:
    """Simulate the cross ``request`` describes."""
    from translocus.core.simulate import simulate_cross

    request.validate()
    log = log or RunLog()
    with log.step("simulate cross"):
        sim = simulate_cross(
            cross_type=request.cross,  # type: ignore[arg-type]
            n=request.n,
            seed=request.seed,
            n_markers=request.markers,
            error_rate=request.error_rate,
            ngen=request.ngen,
            n_traits=request.traits,
        )
    log.add_provenance(sim.cross.provenance)
    return SimulateOutput(request, sim)
