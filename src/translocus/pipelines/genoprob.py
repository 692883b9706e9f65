"""``genoprob``: genotype and allele probabilities of a cross, stored for later scans.

The run folder *is* the store (:class:`~translocus.core.store.Store`) that ``scan --probs``
reads: items ``genoprob`` and ``alleleprob``, each saved with the cross's fingerprint
(:func:`~translocus.core.store.cross_fingerprint`), the HMM settings and the genome build of
the physical map.

The helpers here (reading a cross with its warnings, its input files, the genome build of
its physical map, probabilities chromosome by chromosome) are shared with ``scan``.

>>> from translocus.core.simulate import simulate_cross
>>> cross = simulate_cross(cross_type="f2", n=20, n_markers=40, seed=1).cross
>>> output = run_genoprob(GenoprobRequest(assembly="GRCm39"), cross=cross)
>>> output.summary()["individuals"], output.summary()["assembly"]
(20, 'GRCm39')
>>> GenoprobRequest(map_function="cm").validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: map_function='cm': use one of haldane, kosambi, c-f, morgan
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translocus.core.errors import InputError, OptionError
from translocus.core.memory import memory_budget
from translocus.core.model import Cross, GenoProbs
from translocus.core.runs import RunLog

__all__ = [
    "ASSEMBLIES",
    "MAP_FUNCTIONS",
    "GenoprobOutput",
    "GenoprobRequest",
    "cross_for",
    "check_hmm_options",
    "cross_inputs",
    "genotype_probabilities",
    "memory_budget",
    "probability_plan",
    "ProbabilityPlan",
    "read_cross_logged",
    "resolve_assembly",
    "run_genoprob",
]

#: Genome builds a physical map (Mbp) may be recorded in (``--assembly``).
ASSEMBLIES = ("GRCm38", "GRCm39")
#: Map functions of the HMM (R/qtl2's names).
MAP_FUNCTIONS = ("haldane", "kosambi", "c-f", "morgan")
#: Control-file fields that may name the build of the physical map. R/qtl2 defines none, so
#: these are translocus's own; the values are build names or their UCSC aliases.
CONTROL_ASSEMBLY_FIELDS = ("assembly", "genome", "genome_build", "build")
_BUILD_NAMES = {"grcm38": "GRCm38", "mm10": "GRCm38", "grcm39": "GRCm39", "mm39": "GRCm39"}
_UNKNOWN_BUILD = "physical map build unknown; give --assembly GRCm38 or GRCm39 to translate peaks"
_CONTROL_FILE_FIELDS = ("geno", "founder_geno", "gmap", "pmap", "pheno", "covar", "phenocovar",
                        "sex", "cross_info", "linemap")  # fmt: skip


# -- checks shared with scan ------------------------------------------------------------------
def cross_for(
    path: Path | None, log: RunLog, *, intersection: bool = False, cross: Cross | None = None
) -> Cross:
    """The cross a pipeline works on: ``cross`` when given, else the cross read from ``path``.

    The path is checked here, not by ``validate()``: a pipeline given a cross already in
    memory uses its ``cross`` path only as a name.
    """
    if cross is not None:
        log.add_provenance(cross.provenance)
        return cross
    if path is None:
        raise InputError("no cross: give the path of an R/qtl2 control file, folder or zip")
    if not Path(path).exists():
        raise InputError(
            f"{path}: no such file or folder; give an R/qtl2 control file (.json/.yaml), "
            "its folder or a .zip"
        )
    return read_cross_logged(path, log, intersection=intersection)


def check_hmm_options(error_prob: float, map_function: str, assembly: str | None) -> None:
    """Ranges and names of the options every probability computation takes."""
    if not 0.0 <= float(error_prob) < 0.5:
        raise OptionError("error_prob", error_prob, "must be a probability in [0, 0.5), e.g. 0.002")
    if map_function not in MAP_FUNCTIONS:
        raise OptionError("map_function", map_function, f"use one of {', '.join(MAP_FUNCTIONS)}")
    if assembly is not None and assembly not in ASSEMBLIES:
        raise OptionError(
            "assembly",
            assembly,
            "use GRCm38 (mm10) or GRCm39: the mouse genome build of the physical map",
        )


# -- reading a cross ----------------------------------------------------------------------------
class _CrossReadError(InputError):
    """An error of the cross reader, with its advice said in command-line terms too."""

    def __init__(self, python: str, cli: str) -> None:
        super().__init__(python)
        self._cli = cli

    def cli_message(self, flags: Mapping[str, str] | None = None) -> str:
        return self._cli


def read_cross_logged(path: Path, log: RunLog, *, intersection: bool = False) -> Cross:
    """Read a cross in a ``read cross`` step.

    Its warnings (undeclared genotype codes, ...) are not silenced: the runner records them
    in ``run.json`` and prints one line each.
    """
    from translocus.core.qtl2io import read_cross

    with log.step("read cross"):
        try:
            cross = read_cross(path, individuals="intersection" if intersection else "strict")
        except InputError as exc:
            text = str(exc)
            advice = "read with individuals='intersection'"
            if advice not in text:
                raise
            raise _CrossReadError(
                text.replace(advice, "set intersection=True"),
                text.replace(advice, "give --intersection"),
            ) from None
    log.add_provenance(cross.provenance)
    log.count("individuals read", cross.n_individuals, f"genotyped individuals in {path}")
    return cross


def _control(path: Path) -> tuple[dict[str, Any], Path | None] | None:
    """The control file's fields and its folder (``None`` inside a zip); ``None`` if unreadable."""
    from translocus.core.qtl2io import _open_source, read_control

    try:
        source, text, name = _open_source(Path(path))
    except (InputError, OSError, UnicodeDecodeError):
        return None
    try:
        return read_control(text, name), source.base
    except InputError:
        return None
    finally:
        if source.archive is not None:
            source.archive.close()


def cross_inputs(path: Path) -> list[Path]:
    """The files a cross is read from.

    A zip or folder as given; a control file with the files it names, or the whole folder
    when that is a translocus run folder (as
    ``simulate`` writes), which must stay whole. ``--out`` may not overlap them and
    ``run.json`` hashes them.
    """
    from translocus.core.runs import read_run

    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".zip":
        return [path]
    if path.is_file() and read_run(path.parent) is not None:
        return [path.parent]
    found = _control(path)
    if found is None:
        return [path]
    control, base = found
    if base is None:
        return [path]
    files = [path]
    for field in _CONTROL_FILE_FIELDS:
        value = control.get(field)
        if isinstance(value, Mapping):
            value = value.get("file")
        names = value if isinstance(value, list) else [value] if value else []
        for name in names:
            candidate = base / str(name)
            if candidate.is_file() and candidate not in files:
                files.append(candidate)
    return files


def resolve_assembly(
    cross: Cross,
    path: Path | None,
    given: str | None,
    log: RunLog,
    *,
    stored: str | None = None,
) -> tuple[str | None, str | None]:
    """The genome build of the cross's physical map, and where it came from.

    In order: ``given`` (``--assembly``), ``stored`` (recorded with ``--probs``), a field of
    the control file (:data:`CONTROL_ASSEMBLY_FIELDS`), the catalogue of shared datasets.
    Never a guess: otherwise ``(None, None)`` and, when the cross has a physical map, one
    warning saying how to give it.
    """
    from translocus.datasets import physical_map_assembly

    if given is not None:
        return given, "assembly option"
    if stored is not None:
        return stored, "stored with the probabilities"
    found = _control(path) if path is not None else None
    if found is not None:
        for field in CONTROL_ASSEMBLY_FIELDS:
            value = found[0].get(field)
            if value is None:
                continue
            build = _BUILD_NAMES.get(str(value).strip().lower())
            if build is not None:
                return build, f"control file field '{field}'"
            log.warn(
                f"control file field '{field}' is {value!r}, not a mouse genome build "
                "(GRCm38/mm10 or GRCm39/mm39); give --assembly GRCm38 or GRCm39 to translate "
                "peaks"
            )
            return None, None
    build = physical_map_assembly(cross.provenance.name)
    if build is not None:
        return build, f"dataset catalogue ({cross.provenance.name})"
    if cross.pmap is not None:
        log.warn(_UNKNOWN_BUILD)
    return None, None


#: Copies of a block's genotype probabilities held while it is formed and reduced (the HMM's
#: output, its reordering and the allele probabilities, rounded up).
BLOCK_COPIES = 3


@dataclass(frozen=True)
class ProbabilityPlan:
    """How a cross's probabilities are formed: in memory, or streamed in blocks of animals."""

    stream: bool
    block: int  # animals per block
    nbytes: int  # genotype probabilities of every chromosome, float64
    budget: int


def probability_plan(cross: Cross, memory: int | str | None = None) -> ProbabilityPlan:
    """How to form the probabilities of ``cross`` within ``memory`` (:func:`memory_budget`).

    In memory when every chromosome's genotype probabilities fit it together; else
    chromosome by chromosome, in blocks of animals whose probabilities (with their
    :data:`BLOCK_COPIES` working copies) fit it.

    >>> from translocus.core.simulate import simulate_cross
    >>> cross = simulate_cross(cross_type="do", n=100, n_markers=200, seed=1).cross
    >>> plan = probability_plan(cross, memory="1M")
    >>> plan.stream, plan.block, plan.nbytes
    (True, 50, 5824000)
    """
    from translocus.genetics.crosstypes import get_cross_model

    budget = memory_budget(memory)
    model = get_cross_model(cross.crosstype)
    per_animal = {c: len(cross.gmap[c]) * model.n_genotypes(model.handles_x and cross.is_x(c))
                  * 8 for c in cross.chromosomes}  # fmt: skip
    n = cross.n_individuals
    nbytes = n * sum(per_animal.values())
    largest = max(per_animal.values(), default=0)
    block = n if largest == 0 else max(1, min(n, budget // (BLOCK_COPIES * largest)))
    # blocks of equal size: a short last block would still take a whole chunk on disk
    block = -(-n // -(-n // max(block, 1))) if n else block
    return ProbabilityPlan(stream=nbytes > budget, block=block, nbytes=nbytes, budget=budget)


class _GenotypeProbsOnDemand(Mapping[str, Any]):
    """Genotype probabilities of one chromosome at a time, computed when looked up (not kept)."""

    def __init__(self, cross: Cross, error_prob: float, map_function: str, block: int) -> None:
        self._cross, self._error, self._map, self.block = cross, error_prob, map_function, block

    def __len__(self) -> int:
        return len(self._cross.chromosomes)

    def __iter__(self) -> Any:
        return iter(self._cross.chromosomes)

    def _compute(self, cross: Cross, chrom: str) -> GenoProbs:
        from translocus.genetics.genoprob import calc_genoprob

        return calc_genoprob(cross, error_prob=self._error, map_function=self._map,
                             chromosomes=[chrom])  # fmt: skip

    def __getitem__(self, chrom: str) -> Any:
        if chrom not in self._cross.gmap:
            raise KeyError(chrom)
        return self._compute(self._cross, chrom)[chrom]

    def write(self, store: Any, name: str, **kwargs: Any) -> None:
        """Compute and write them to ``store`` in the blocks of animals they were formed in."""
        ids = list(self._cross.individuals)
        with store.genoprobs_writer(name, samples=ids, **kwargs) as out:
            for chrom in self._cross.chromosomes:
                whole = self._cross.subset(chromosomes=[chrom])
                for start in range(0, len(ids), self.block):
                    part = ids[start : start + self.block]
                    sub = whole if len(part) == len(ids) else whole.subset(individuals=part)
                    out.write(chrom, self._compute(sub, chrom), start=start, width=self.block)


_SCRATCH_PREFIX = "translocus-probs-"


def _scratch_store() -> tuple[Any, Any]:
    """A new store in a temporary folder, removed when no longer used; stale ones go first.

    Stale ones are this function's own folders (name prefix, a store marker inside) whose
    process is gone (a run killed before it could remove its store).
    """
    import os
    import shutil
    import tempfile

    from translocus.core.lazyprobs import Scratch
    from translocus.core.store import Store, _pid_alive

    root = Path(tempfile.gettempdir())
    for old in root.glob(f"{_SCRATCH_PREFIX}*"):
        pid = old.name[len(_SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)) and (old / "translocus-store.json").is_file():
            shutil.rmtree(old, ignore_errors=True)
    scratch = Scratch(Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=root)))
    return Store(scratch.path), scratch


def genotype_probabilities(
    cross: Cross,
    error_prob: float,
    map_function: str,
    log: RunLog,
    *,
    store: Any = None,
    memory: int | str | None = None,
) -> tuple[GenoProbs, GenoProbs]:
    """Genotype then allele probabilities (HMM), one chromosome at a time.

    In memory when all genotype probabilities fit the memory budget (:func:`memory_budget`)
    or, when they do not or ``store`` is given, streamed: each chromosome is formed in blocks
    of animals (:func:`probability_plan`), reduced to allele probabilities at once and
    written to ``store`` (item ``alleleprob``; a temporary store removed when the returned
    probabilities are no longer used if none is given). The allele probabilities returned
    are then read from it a chromosome at a time
    (:class:`~translocus.core.lazyprobs.LazyProbs`), and the genotype probabilities are
    computed again for the chromosome looked up. The numbers are the same either way: the
    HMM and the reduction to alleles are per animal.
    """
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob

    chromosomes = list(cross.chromosomes)
    if not chromosomes:
        raise InputError("the cross has no chromosomes; check its genetic map (gmap)")
    plan = probability_plan(cross, memory)
    if store is None and not plan.stream:
        parts: dict[str, Any] = {}
        first: GenoProbs | None = None
        with log.step("genotype probabilities", total=len(chromosomes)) as advance:
            for chrom in chromosomes:
                one = calc_genoprob(cross, error_prob=error_prob, map_function=map_function,
                                    chromosomes=[chrom])  # fmt: skip
                first = first or one
                parts[chrom] = one[chrom]
                advance(1)
        assert first is not None
        probs = GenoProbs(probs=parts, crosstype=first.crosstype, alleles=first.alleles,
                          x_chr=first.x_chr, kind=first.kind)  # fmt: skip
        with log.step("allele probabilities"):
            alleles = genoprob_to_alleleprob(probs)
        return probs, alleles

    from translocus.core.store import Store

    scratch = None
    if store is None:
        target, scratch = _scratch_store()
    else:
        target = store if isinstance(store, Store) else Store(store)
    ids = list(cross.individuals)
    starts = list(range(0, len(ids), plan.block))
    log.count(
        "animals per block of genotype probabilities",
        plan.block,
        f"all genotype probabilities would take {plan.nbytes / 2**30:.2f} GiB, the memory "
        f"budget is {plan.budget / 2**30:.2f} GiB (memory= or $TRANSLOCUS_MEMORY): formed "
        f"chromosome by chromosome, reduced to allele probabilities and stored in "
        f"{'a temporary store' if scratch is not None else target.path}",
    )
    first = None
    with (
        log.step(
            "genotype and allele probabilities", total=len(chromosomes) * len(starts)
        ) as advance,
        target.genoprobs_writer("alleleprob", samples=ids, provenance=cross.provenance) as out,
    ):
        for chrom in chromosomes:
            whole = cross.subset(chromosomes=[chrom])
            for start in starts:
                part = ids[start : start + plan.block]
                sub = whole if len(part) == len(ids) else whole.subset(individuals=part)
                one = calc_genoprob(sub, error_prob=error_prob, map_function=map_function,
                                    chromosomes=[chrom])  # fmt: skip
                first = first or one
                out.write(chrom, genoprob_to_alleleprob(one), start=start, width=plan.block)
                del one, sub
                advance(1)
    assert first is not None
    alleles = target.read_genoprobs("alleleprob", lazy=True)
    if scratch is not None:
        alleles.probs.scratch = scratch  # type: ignore[attr-defined]
    probs = GenoProbs(probs=_GenotypeProbsOnDemand(cross, error_prob, map_function, plan.block),
                      crosstype=first.crosstype, alleles=first.alleles, x_chr=first.x_chr,
                      kind=first.kind)  # fmt: skip
    return probs, alleles


# -- the command ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GenoprobRequest:
    """Options of ``translocus genoprob`` (see its ``--help``)."""

    cross: Path | None = None
    error_prob: float = 0.002
    map_function: str = "c-f"
    assembly: str | None = None
    intersection: bool = False

    def validate(self) -> None:
        check_hmm_options(self.error_prob, self.map_function, self.assembly)


@dataclass
class GenoprobOutput:
    """Genotype and allele probabilities of a cross, with its fingerprint."""

    request: GenoprobRequest
    genoprobs: GenoProbs
    alleleprobs: GenoProbs
    fingerprint: dict[str, Any]
    assembly: str | None
    assembly_source: str | None
    cross: Cross

    def attrs(self) -> dict[str, Any]:
        """What is stored with each item besides the probabilities."""
        return {
            "fingerprint": self.fingerprint,
            "error_prob": float(self.request.error_prob),
            "map_function": self.request.map_function,
            "assembly": self.assembly,
            "assembly_source": self.assembly_source,
        }

    def write(self, folder: Path) -> None:
        """Write the store (``genoprob`` and ``alleleprob``) straight into ``folder``."""
        from translocus.core.store import Store

        store = Store(folder)
        for name, probs in (("genoprob", self.genoprobs), ("alleleprob", self.alleleprobs)):
            if isinstance(probs.probs, _GenotypeProbsOnDemand):  # streamed: again, in blocks
                probs.probs.write(store, name, provenance=self.cross.provenance,
                                  attrs=self.attrs())  # fmt: skip
                continue
            store.write_genoprobs(name, probs, provenance=self.cross.provenance,
                                  attrs=self.attrs())  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {
            "crosstype": self.genoprobs.crosstype,
            "individuals": len(self.alleleprobs.samples),
            "positions": int(self.alleleprobs.n_markers),
            "chromosomes": len(self.alleleprobs.chromosomes),
            "alleles": list(self.alleleprobs.alleles),
            "error_prob": float(self.request.error_prob),
            "map_function": self.request.map_function,
            "items": ["genoprob", "alleleprob"],
            "fingerprint": self.fingerprint["sha256"],
            "assembly": self.assembly,
            "assembly_source": self.assembly_source,
        }


def run_genoprob(
    request: GenoprobRequest, log: RunLog | None = None, *, cross: Cross | None = None
) -> GenoprobOutput:
    """Compute the probabilities ``request`` asks for.

    Of ``cross`` when given, else of the cross read from ``request.cross``.
    """
    from translocus.core.store import cross_fingerprint

    request.validate()
    log = log or RunLog()
    cross = cross_for(request.cross, log, intersection=request.intersection, cross=cross)
    assembly, source = resolve_assembly(cross, request.cross, request.assembly, log)
    probs, alleles = genotype_probabilities(cross, request.error_prob, request.map_function, log)
    fingerprint = cross_fingerprint(cross, error_prob=request.error_prob,
                                    map_function=request.map_function)  # fmt: skip
    return GenoprobOutput(request, probs, alleles, fingerprint, assembly, source, cross)
