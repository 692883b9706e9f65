"""``translate``: mouse genes, a QTL interval, scan peaks or a per-gene statistic → human.

One request names exactly one query — ``interval`` (mouse ``CHR:START-END`` in Mbp),
``genes`` (symbols/IDs, or a file of them), ``peaks`` (a ``translocus scan`` run folder) or
``statistic`` (a table of mouse gene and value) — and :func:`run_translate` answers it with
:class:`TranslateOutput`: the result tables (orthologs, candidates near human disease
loci, human values), the sentences for the user and the provenance of every table used.

The genome build of an interval or of scan peaks is never guessed: ``--assembly``, or for
peaks the build the scan recorded in its ``run.json``; a scan that did not know its build
needs ``--assembly``.

>>> TranslateRequest(interval="7:19-20", top=0).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: top=0: must be 1 or more rows
>>> TranslateRequest(interval="7:19-20", window_kb=-1).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: window_kb=-1: must be a distance above 0 kb, e.g. 500
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.provenance import Provenance
from translocus.core.runs import RunLog
from translocus.core.tables import parse_columns, read_table, resolve_columns

__all__ = [
    "PEAK_VIEW",
    "ASSEMBLIES",
    "LOCI_ASSEMBLIES",
    "MANY_TO_ONE",
    "ONE_TO_MANY",
    "TranslateOutput",
    "TranslateRequest",
    "View",
    "run_translate",
]

ONE_TO_MANY = ("best", "copy", "drop")
MANY_TO_ONE = ("mean", "max_abs", "drop")
ASSEMBLIES = ("GRCm39", "GRCm38")
LOCI_ASSEMBLIES = ("GRCh38", "GRCh37")
_QUERIES = ("interval", "genes", "peaks", "statistic")
_GENE_FILE_SUFFIXES = (".txt", ".csv", ".tsv", ".list")

#: The columns of a translated peak worth showing (terminal and report).
PEAK_VIEW = [
    "lodcolumn",
    "chr",
    "pos",
    "lod",
    "start_mbp",
    "end_mbp",
    "n_genes",
    "n_one2one",
    "n_near_locus",
    "top_candidate",
    "founder_pattern",
]

CANDIDATE_VIEW = [
    "rank",
    "mouse_symbol",
    "mouse_start_mbp",
    "human_symbol",
    "homology_type",
    "human_chr",
    "locus_name",
    "locus_p",
    "distance_kb",
]


def _text_file(path: Path, option: str) -> Path:
    """``path`` must be a readable, non-empty text file (``option`` names it)."""
    if not path.exists():
        raise OptionError(option, str(path), "file not found")
    if path.is_dir():
        raise OptionError(option, str(path), "is a folder; give a file")
    if path.stat().st_size == 0:
        raise OptionError(option, str(path), "the file is empty")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if b"\x00" in head:
        raise OptionError(option, str(path), "is a binary file, not a text file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 4 KiB boundary
            raise OptionError(option, str(path), "is not UTF-8 text") from None
    return path


def _looks_like_file(text: str) -> bool:
    return "/" in text or text.lower().endswith(_GENE_FILE_SUFFIXES)


def gene_list(text: str, *, option: str = "genes") -> list[str]:
    """Genes from ``--genes``: comma-separated names, or a file with one per line.

    >>> gene_list("App, Apoe;Trem2")
    ['App', 'Apoe', 'Trem2']
    """
    path = Path(text)
    if path.is_file() or path.is_dir() or _looks_like_file(text):
        _text_file(path, option)
        lines = [
            line.split(",")[0].split("\t")[0].strip()
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        ]
        genes = [g for g in lines if g and not g.startswith("#")]
        if genes and genes[0].lower() in ("gene", "symbol", "genes"):
            genes = genes[1:]
        if not genes:
            raise OptionError(option, text, "the file lists no genes; give one mouse gene a line")
        return genes
    genes = [g.strip() for g in text.replace(";", ",").split(",") if g.strip()]
    if not genes:
        raise OptionError(option, text, "is empty; give comma-separated mouse genes, e.g. App,Apoe")
    return genes


@dataclass(frozen=True)
class TranslateRequest:
    """Options of ``translocus translate`` (see its ``--help``)."""

    interval: str | None = None
    genes: str | None = None
    peaks: Path | None = None
    statistic: Path | None = None
    one_to_many: str = "best"
    many_to_one: str = "mean"
    assembly: str | None = None
    loci: str = "ad"
    loci_assembly: str = "GRCh38"
    window_kb: float = 500.0
    expect: str | None = None
    gene_sets: str | None = None
    top: int = 25
    columns: str | Mapping[str, str] | None = None

    @property
    def query(self) -> str:
        """Which query the request holds: interval, genes, peaks or statistic."""
        given = [name for name in _QUERIES if getattr(self, name) is not None]
        if len(given) != 1:
            shown = f" (given: {', '.join('--' + g for g in given)})" if given else ""
            raise InputError(
                "give exactly one of --interval, --genes, --peaks or --statistic"
                f"{shown}; see translocus translate --help"
            )
        return given[0]

    def inputs(self) -> list[Path]:
        """The files and folders the request reads (for ``--out`` checks and run.json)."""
        paths: list[Path] = []
        if self.peaks is not None:
            paths.append(Path(self.peaks))
        if self.statistic is not None:
            paths.append(Path(self.statistic))
        for text in (self.genes, self.expect, self.gene_sets, self.loci):
            if text and Path(text).is_file():
                paths.append(Path(text))
        return paths

    def validate(self) -> None:
        """Every option checked before any table is loaded."""
        query = self.query
        if not math.isfinite(self.window_kb) or self.window_kb <= 0:
            raise OptionError(
                "window_kb", _number(self.window_kb), "must be a distance above 0 kb, e.g. 500"
            )
        if self.top < 1:
            raise OptionError("top", self.top, "must be 1 or more rows")
        if self.one_to_many not in ONE_TO_MANY:
            raise OptionError(
                "one_to_many", self.one_to_many, f"use one of {', '.join(ONE_TO_MANY)}"
            )
        if self.many_to_one not in MANY_TO_ONE:
            raise OptionError(
                "many_to_one", self.many_to_one, f"use one of {', '.join(MANY_TO_ONE)}"
            )
        if self.assembly is not None and self.assembly not in ASSEMBLIES:
            raise OptionError(
                "assembly", self.assembly, "use GRCm39 or GRCm38 (the mouse genome build)"
            )
        if self.loci_assembly not in LOCI_ASSEMBLIES:
            raise OptionError(
                "loci_assembly", self.loci_assembly, "use GRCh38 or GRCh37 (the human build)"
            )
        self._check_scope(query)
        if query in ("interval", "peaks"):
            self._check_loci()
        if query == "interval":
            self.parsed_interval()
            if self.expect is not None:
                gene_list(self.expect, option="expect")
        elif query == "genes":
            gene_list(str(self.genes))
            if self.gene_sets is not None and self.gene_sets != "mgi":
                _text_file(Path(self.gene_sets), "gene_sets")
        elif query == "statistic":
            parse_columns(self.columns, command="translate")
            _text_or_parquet(Path(str(self.statistic)))
        else:
            self._check_peaks()

    def _check_scope(self, query: str) -> None:
        """Options that only one query takes are refused with the others."""
        scoped = (
            ("expect", self.expect is not None, "interval"),
            ("gene_sets", self.gene_sets is not None, "genes"),
            ("columns", self.columns not in (None, ""), "statistic"),
            ("one_to_many", self.one_to_many != "best", "statistic"),
            ("many_to_one", self.many_to_one != "mean", "statistic"),
        )
        for option, given, needs in scoped:
            if given and needs != query:
                value = getattr(self, option)
                raise OptionError(
                    option,
                    value if isinstance(value, str) else None,
                    f"applies to {{{needs}}} only",
                )

    def _check_loci(self) -> None:
        from translocus.translate.loci import LOCI_TABLES

        if self.loci in LOCI_TABLES:
            return
        path = Path(self.loci)
        if not path.exists():
            raise OptionError(
                "loci",
                self.loci,
                f"not a built-in table ({', '.join(LOCI_TABLES)}) nor an existing file",
            )
        sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        read_table(path, option="loci", sep=sep)

    def _check_peaks(self) -> None:
        from translocus.translate.peaks import check_scan_run, peaks_assembly

        path = Path(str(self.peaks))
        if not path.exists():
            raise InputError(
                f"--peaks {path}: does not exist; give the run folder of `translocus scan`"
            )
        check_scan_run(path if path.is_dir() else path.parent)
        if path.is_dir() and not any(
            (path / name).is_file() for name in ("peaks.csv", "peaks.parquet")
        ):
            raise InputError(
                f"--peaks {path}: holds no peaks.csv or peaks.parquet; give the run folder of "
                "`translocus scan ... --out DIR`"
            )
        if self.assembly is None and peaks_assembly(path) is None:
            raise OptionError(
                "assembly",
                None,
                f"the scan in {path if path.is_dir() else path.parent} recorded no genome "
                "build for its positions; give {assembly} GRCm39 or GRCm38 (the build of the "
                "cross's physical map; most published DO data are GRCm38)",
            )

    def parsed_interval(self) -> tuple[str, float, float, str]:
        """``--interval`` as ``(chr, start_mbp, end_mbp, note)``."""
        from translocus.translate.interval import parse_interval

        text = str(self.interval)
        try:
            return parse_interval(text)
        except InputError as exc:
            reason = str(exc).replace(f"interval {text!r} ", "").rstrip(".")
            raise OptionError("interval", text, reason) from None

    def mouse_assembly(self) -> tuple[str, str]:
        """The mouse build to use and where it came from (``--assembly``, the scan)."""
        from translocus.translate.peaks import peaks_assembly

        if self.assembly is not None:
            return self.assembly, "--assembly"
        if self.peaks is not None:
            recorded = peaks_assembly(self.peaks)
            if recorded is not None:
                return recorded, "recorded by the scan"
        return "GRCm39", "default"


def _number(value: float) -> Any:
    return int(value) if math.isfinite(value) and float(value).is_integer() else value


def _text_or_parquet(path: Path) -> None:
    if not path.exists():
        raise OptionError("statistic", str(path), "file not found")
    if path.is_dir():
        raise OptionError("statistic", str(path), "is a folder; give a CSV, TSV or parquet table")


@dataclass
class View:
    """A table to show on the terminal: title, rows and the columns worth showing."""

    title: str
    table: pd.DataFrame
    columns: list[str]
    top: int | None = None


@dataclass
class TranslateOutput:
    """The answer to one translate query.

    Attributes
    ----------
    query
        ``interval``, ``genes``, ``peaks`` or ``statistic``.
    tables
        The result tables by file stem (``orthologs``, ``candidates``, ``peaks``,
        ``human_values``, ...), written as CSV.
    views
        What the command line shows of them.
    lines
        One-sentence summaries; ``messages`` the notes (unit conversions, build warnings).
    """

    query: str
    tables: dict[str, pd.DataFrame]
    views: list[View]
    facts: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    provenance: tuple[Provenance, ...] = ()

    def write(self, folder: Path) -> None:
        """Each table as ``NAME.csv``."""
        for name, table in self.tables.items():
            table.to_csv(Path(folder) / f"{name}.csv", index=False)

    def summary(self) -> dict[str, Any]:
        """The key numbers (``run.json`` "summary")."""
        return {
            "query": self.query,
            **self.facts,
            "rows": {name: len(table) for name, table in self.tables.items()},
            "messages": list(self.messages),
        }


def _record(log: RunLog, provenance: tuple[Provenance, ...]) -> None:
    for item in provenance:
        log.add_provenance(item)


def run_translate(request: TranslateRequest, log: RunLog | None = None) -> TranslateOutput:
    """Answer the query ``request`` holds (see the module notes)."""
    request.validate()
    log = log or RunLog()
    query = request.query
    if query == "genes":
        output = _genes(request, log)
    elif query == "statistic":
        output = _statistic(request, log)
    elif query == "interval":
        output = _interval(request, log)
    else:
        output = _peaks(request, log)
    _record(log, output.provenance)
    return output


def _engine(request: TranslateRequest, assembly: str, log: RunLog) -> Any:
    from translocus.translate.interval import TranslationEngine, default_engine
    from translocus.translate.loci import LOCI_TABLES, read_loci

    with log.step("load gene, orthology and loci tables"):
        if request.loci in LOCI_TABLES:
            return default_engine(
                loci=request.loci, window_kb=request.window_kb, mouse_assembly=assembly
            )
        return TranslationEngine(
            loci=read_loci(request.loci, assembly=request.loci_assembly),
            window_kb=request.window_kb,
            mouse_assembly=assembly,
        )


def _genes(request: TranslateRequest, log: RunLog) -> TranslateOutput:
    from translocus.translate.genesets import (
        mgi_phenotype_gene_sets,
        overrepresentation,
        read_gene_sets,
    )
    from translocus.translate.orthology import load_orthology

    names = gene_list(str(request.genes))
    log.count("genes read", len(names), "--genes")
    with log.step("load orthology tables"):
        orthology = load_orthology()
    with log.step("translate genes"):
        result = orthology.mouse_to_human(names)
    table = result.table
    best = result.best()
    tables = {"orthologs": table}
    views = [
        View(
            "mouse -> human orthologs (preferred ortholog per gene)",
            best,
            [
                "query",
                "mouse_symbol",
                "human_symbol",
                "homology_type",
                "confidence",
                "n_orthologs",
                "ortholog_source",
                "status",
            ],  # fmt: skip
        )
    ]
    provenance = tuple(result.provenance)
    unknown = int((best.drop_duplicates("query")["status"] == "unknown").sum())
    if unknown:
        log.count("genes skipped", unknown, "not a known mouse gene symbol or ID")
    facts: dict[str, Any] = {"genes": len(names), "unknown_genes": unknown}
    if request.gene_sets is not None:
        with log.step("over-representation"):
            sets = (
                mgi_phenotype_gene_sets()
                if request.gene_sets == "mgi"
                else read_gene_sets(request.gene_sets)
            )
            human = table.loc[table["status"] == "ok", "human_symbol"].dropna().unique()
            ora = overrepresentation(human, sets)
        tables["overrepresentation"] = ora
        views.append(
            View(
                f"over-representation ({sets.provenance.name}; hypergeometric, BH FDR)",
                ora,
                ["gene_set", "description", "set_size", "overlap", "fold_enrichment", "p", "fdr"],
                top=15,
            )
        )
        provenance += (sets.provenance,)
        facts["gene_sets"] = sets.provenance.name
        if "fdr" in ora:
            facts["gene_sets_fdr05"] = int((ora["fdr"] < 0.05).sum())
    return TranslateOutput(
        "genes", tables, views, facts, [result.summary()], result.messages(), provenance
    )


def _statistic_values(request: TranslateRequest) -> tuple[pd.Series, str]:
    """The statistic table as a Series indexed by mouse gene, and the value column's name."""
    path = Path(str(request.statistic))
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    table = read_table(path, option="statistic", sep=sep)
    columns = parse_columns(request.columns, command="translate")
    found = resolve_columns(
        table, command="translate", columns=columns, source=str(path), required=[]
    )
    names = [str(c) for c in table.columns]
    gene = found.get("gene")
    value = found.get("statistic")
    if gene is None:
        gene = next((c for c in names if c != value), None)
    if value is None:
        value = next((c for c in names if c != gene), None)
    if gene is None or value is None:
        if len(names) == 1 and ";" in names[0]:
            raise InputError(
                f"{path}: has one column {names[0]!r}, which looks ';'-separated; save the "
                "table comma- or tab-separated (CSV or TSV)"
            )
        raise InputError(
            f"{path}: needs two columns, the mouse gene and its value (e.g. gene,log2fc); its "
            f"columns are {', '.join(names)}; map them with --columns gene=NAME,statistic=NAME"
        )
    genes = table[gene]
    no_gene = genes.isna().to_numpy()
    if no_gene.any():
        raise InputError(
            f"{path}, column {gene!r}: {int(no_gene.sum())} empty gene name(s) (rows "
            f"{_rows(no_gene)}); fill them in or remove those rows"
        )
    numbers = pd.to_numeric(table[value], errors="coerce")
    bad = numbers.isna().to_numpy()
    if bad.any():
        raise InputError(
            f"{path}, column {value!r}: {int(bad.sum())} values are not numbers (rows "
            f"{_rows(bad)}); write plain numbers (or map another column with --columns "
            "statistic=NAME)"
        )
    infinite = ~pd.Series(numbers).map(math.isfinite).to_numpy()
    if infinite.any():
        raise InputError(
            f"{path}, column {value!r}: {int(infinite.sum())} infinite values (rows "
            f"{_rows(infinite)}); write finite numbers"
        )
    keys = genes.astype(str).str.strip()
    repeated = keys.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = keys[repeated].iloc[0]
        raise InputError(
            f"{path}, column {gene!r}: {int(repeated.sum())} rows repeat a gene (rows "
            f"{_rows(repeated)}; first: {first}); give one value per mouse gene"
        )
    return pd.Series(numbers.to_numpy(dtype=float), index=keys.to_numpy()), value


def _rows(mask: Any, limit: int = 5) -> str:
    import numpy as np

    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(i) + 2) for i in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def _statistic(request: TranslateRequest, log: RunLog) -> TranslateOutput:
    from translocus.translate.genesets import translate_statistic

    with log.step("read statistic"):
        series, value = _statistic_values(request)
    log.count("genes read", len(series), str(request.statistic))
    with log.step("load orthology tables and translate"):
        result = translate_statistic(
            series, one_to_many=request.one_to_many, many_to_one=request.many_to_one
        )
    human = result.values.rename_axis("human_symbol").reset_index()
    mapping = result.mapping
    if "used" in mapping:
        mapped = mapping.loc[mapping["used"].astype(bool), "query"].nunique()
        skipped = len(series) - int(mapped)
        if skipped:
            log.count("genes skipped", skipped, "no human ortholog used (reasons in mapping.csv)")
    views = [View(f"{value} on human genes ({result.rule})", human, ["human_symbol", "value"])]
    facts = {
        "statistic": value,
        "rule": result.rule,
        "mouse_genes": len(series),
        "human_genes": len(human),
    }
    return TranslateOutput(
        "statistic",
        {"human_values": human, "mapping": mapping},
        views,
        facts,
        [],  # the first message says how many genes moved
        list(result.messages),
        tuple(result.provenance),
    )


def _interval(request: TranslateRequest, log: RunLog) -> TranslateOutput:
    chr_, start, end, note = request.parsed_interval()
    assembly, source = request.mouse_assembly()
    engine = _engine(request, assembly, log)
    expected = gene_list(request.expect, option="expect") if request.expect else None
    with log.step("translate interval"):
        result = engine.interval(chr=chr_, start_mbp=start, end_mbp=end, expected_genes=expected)
    messages = ([note] if note else []) + list(result.messages)
    views = [
        View(
            f"{chr_}:{start:g}-{end:g} Mbp ({assembly}) -> human candidates",
            result.candidates,
            CANDIDATE_VIEW,
        )
    ]
    facts = {
        "chr": chr_,
        "start_mbp": start,
        "end_mbp": end,
        "assembly": assembly,
        "assembly_source": source,
        "loci": engine.loci.name,
        "window_kb": request.window_kb,
        "genes": result.n_genes,
        "one_to_one": result.n_one2one,
        "near_locus": result.n_near_locus,
    }
    return TranslateOutput(
        "interval",
        {"candidates": result.candidates, "genes": result.genes},
        views,
        facts,
        [result.summary(), engine.loci.note],
        messages,
        tuple(result.provenance),
    )


def _peaks(request: TranslateRequest, log: RunLog) -> TranslateOutput:
    from translocus.translate.peaks import peaks_assembly, read_peaks, translate_peaks

    assembly, source = request.mouse_assembly()
    recorded = peaks_assembly(str(request.peaks))
    with log.step("read peaks"):
        table, effects, path = read_peaks(str(request.peaks))
    log.count("peaks read", len(table), path)
    messages: list[str] = []
    if recorded is not None and recorded != assembly:
        log.warn(
            f"--assembly {assembly} overrides the build the scan recorded ({recorded}) for "
            f"{request.peaks}"
        )
    engine = _engine(request, assembly, log)
    with log.step("translate peaks"):
        result = translate_peaks(table, effects=effects, engine=engine)
    messages += list(result.messages)
    views = [
        View(
            f"QTL peaks from {path} ({assembly})",
            result.peaks,
            PEAK_VIEW,
        )
    ]
    hits = result.hits
    lines: list[str] = []
    if hits.empty:
        lines.append(
            f"no human ortholog of any peak's genes lies within {request.window_kb:g} kb of a "
            f"locus in {engine.loci.name}."
        )
    else:
        views.append(View("candidates near human loci", hits, ["lodcolumn", *CANDIDATE_VIEW]))
    facts = {
        "peaks_file": path,
        "assembly": assembly,
        "assembly_source": source,
        "loci": engine.loci.name,
        "window_kb": request.window_kb,
        "peaks": len(result.peaks),
        "peaks_near_locus": int((result.peaks["n_near_locus"] > 0).sum()),
        "candidates_near_locus": len(hits),
    }
    return TranslateOutput(
        "peaks",
        {"peak_summary": result.peaks, "candidates": result.candidates},
        views,
        facts,
        lines,
        messages,
        tuple(result.provenance),
    )
