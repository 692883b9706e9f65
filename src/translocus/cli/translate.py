"""``translocus translate``: mouse genes, QTL intervals or scan peaks → human genes and loci."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from translocus.core.atomic import atomic_path, atomic_write_text
from translocus.core.errors import InputError
from translocus.core.provenance import Provenance

__all__ = ["register", "translate_command"]

console = Console()
errors = Console(stderr=True)

_EXAMPLES = """
Examples:

  translocus translate --genes App,Apoe,Trem2,Bin1,Picalm,Clu,Abca7,Sorl1,Cd33

  translocus translate --interval 7:18.9-19.9 --window-kb 500

  translocus translate --interval 2:160.5-164.2 --out chr2_candidates.csv

  translocus translate --peaks results/recla_scan --assembly GRCm38

  translocus translate --genes my_signature.txt --gene-sets mgi

  translocus translate --statistic log2fc.csv --one-to-many best --many-to-one mean
"""


def _fail(exc: Exception) -> None:
    errors.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _gene_list(text: str) -> list[str]:
    path = Path(text)
    if path.is_file():
        lines = [
            line.split(",")[0].split("\t")[0].strip() for line in path.read_text().splitlines()
        ]
        genes = [g for g in lines if g and not g.startswith("#")]
        if genes and genes[0].lower() in ("gene", "symbol", "genes"):
            genes = genes[1:]
        if not genes:
            raise InputError(f"{path} lists no genes; give one mouse gene per line.")
        return genes
    genes = [g.strip() for g in text.replace(";", ",").split(",") if g.strip()]
    if not genes:
        raise InputError("--genes is empty; give comma-separated mouse genes, e.g. App,Apoe.")
    return genes


def _show(table: pd.DataFrame, columns: list[str], title: str, top: int) -> None:
    shown = table[[c for c in columns if c in table.columns]].head(top)
    rich_table = Table(title=title, show_lines=False, header_style="bold")
    for column in shown.columns:
        rich_table.add_column(column, overflow="fold")
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("" if pd.isna(value) else f"{value:.4g}")
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                cells.append("")
            else:
                cells.append(escape(str(value)))
        rich_table.add_row(*cells)
    console.print(rich_table)
    if len(table) > top:
        console.print(f"[dim]{len(table) - top} more rows (use --top or --out)[/dim]")


def _write(
    out: Path, table: pd.DataFrame, meta: dict[str, Any], provenance: tuple[Provenance, ...]
) -> None:
    meta = {**meta, "provenance": [p.to_dict() for p in provenance]}
    suffix = out.suffix.lower()
    if suffix == ".json":
        payload = {**meta, "table": json.loads(table.to_json(orient="records"))}
        atomic_write_text(out, json.dumps(payload, indent=2, default=str))
        return
    if suffix == ".parquet":
        with atomic_path(out, suffix=".parquet.tmp") as tmp:
            table.to_parquet(tmp, index=False)
    elif suffix in (".csv", ".tsv"):
        atomic_write_text(out, table.to_csv(index=False, sep="\t" if suffix == ".tsv" else ","))
    else:
        raise InputError(f"--out {out}: use a .csv, .tsv, .parquet or .json file name.")
    atomic_write_text(
        out.with_name(out.name + ".provenance.json"), json.dumps(meta, indent=2, default=str)
    )


def _engine(loci: str, loci_assembly: str, window_kb: float, assembly: str) -> Any:
    from translocus.translate.interval import TranslationEngine, default_engine
    from translocus.translate.loci import LOCI_TABLES, read_loci

    if loci in LOCI_TABLES:
        return default_engine(loci=loci, window_kb=window_kb, mouse_assembly=assembly)
    if Path(loci).is_file():
        return TranslationEngine(
            loci=read_loci(loci, assembly=loci_assembly),
            window_kb=window_kb,
            mouse_assembly=assembly,
        )
    raise InputError(
        f"--loci {loci}: not a built-in table ({', '.join(LOCI_TABLES)}) nor an existing file."
    )


_CANDIDATE_VIEW = [
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


def translate_command(
    interval: str = typer.Option(
        None, "--interval", help="Mouse interval CHR:START-END in Mbp, e.g. 2:160.5-164.2."
    ),
    genes: str = typer.Option(
        None, "--genes", help="Comma-separated mouse genes (symbols/IDs), or a file of them."
    ),
    peaks: Path = typer.Option(
        None, "--peaks", help="Folder written by 'translocus scan' (peaks.csv/peaks.parquet)."
    ),
    statistic: Path = typer.Option(
        None,
        "--statistic",
        help="CSV/TSV of mouse gene and a per-gene value (e.g. log fold change) to move to human.",
    ),
    one_to_many: str = typer.Option(
        "best", "--one-to-many", help="With --statistic: best, copy or drop."
    ),
    many_to_one: str = typer.Option(
        "mean", "--many-to-one", help="With --statistic: mean, max_abs or drop."
    ),
    assembly: str = typer.Option(
        None,
        "--assembly",
        help="Mouse assembly of --interval/--peaks: GRCm39 or GRCm38 (default: the build "
        "recorded by `translocus scan`, else GRCm39).",
    ),
    loci: str = typer.Option(
        "ad", "--loci", help="Disease loci: ad, ad_suggestive, kunkle, or a CSV/TSV (chr,pos)."
    ),
    loci_assembly: str = typer.Option(
        "GRCh38", "--loci-assembly", help="Assembly of a --loci file: GRCh38 or GRCh37."
    ),
    window_kb: float = typer.Option(
        500.0, "--window-kb", help="An ortholog is near a locus within this distance (kb)."
    ),
    expect: str = typer.Option(
        None, "--expect", help="Mouse genes expected in --interval (checks GRCm38 vs GRCm39)."
    ),
    gene_sets: str = typer.Option(
        None,
        "--gene-sets",
        help="With --genes: over-representation test against 'mgi' or a GMT/CSV file.",
    ),
    out: Path = typer.Option(None, "--out", help="Write the full table (.csv/.parquet/.json)."),
    top: int = typer.Option(25, "--top", help="Rows to print."),
) -> None:
    """Translate mouse genes, a QTL interval or scan peaks to human genes and disease loci."""
    try:
        given = [x for x in (interval, genes, peaks, statistic) if x is not None]
        if len(given) != 1:
            raise InputError(
                "give exactly one of --interval, --genes, --peaks or --statistic (see "
                "translocus translate --help)."
            )
        if assembly is None:
            from translocus.translate.peaks import peaks_assembly

            assembly = (peaks_assembly(peaks) if peaks is not None else None) or "GRCm39"
        if assembly not in ("GRCm39", "GRCm38"):
            raise InputError(f"--assembly {assembly}: use GRCm39 or GRCm38.")
        if genes is not None:
            _translate_genes(genes, gene_sets, out, top)
        elif statistic is not None:
            _translate_statistic(statistic, one_to_many, many_to_one, out, top)
        elif interval is not None:
            _translate_interval(
                interval, assembly, loci, loci_assembly, window_kb, expect, out, top
            )
        else:
            _translate_peaks(peaks, assembly, loci, loci_assembly, window_kb, out, top)
    except (InputError, FileNotFoundError) as exc:
        _fail(exc)


def _translate_genes(genes: str, gene_sets: str | None, out: Path | None, top: int) -> None:
    from translocus.translate.genesets import (
        mgi_phenotype_gene_sets,
        overrepresentation,
        read_gene_sets,
    )
    from translocus.translate.orthology import load_orthology

    names = _gene_list(genes)
    with errors.status("loading orthology tables"):
        result = load_orthology().mouse_to_human(names)
    table = result.table
    _show(
        result.best(),
        [
            "query",
            "mouse_symbol",
            "human_symbol",
            "homology_type",
            "confidence",
            "n_orthologs",
            "ortholog_source",
            "status",
        ],
        "mouse -> human orthologs (preferred ortholog per gene)",
        top,
    )
    console.print(result.summary())
    for message in result.messages():
        console.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False)
    meta: dict[str, Any] = {"query": {"genes": names}, "summary": result.summary(),
                            "messages": result.messages()}  # fmt: skip
    if gene_sets is not None:
        sets = mgi_phenotype_gene_sets() if gene_sets == "mgi" else read_gene_sets(gene_sets)
        human = table.loc[table["status"] == "ok", "human_symbol"].dropna().unique()
        ora = overrepresentation(human, sets)
        _show(
            ora,
            ["gene_set", "description", "set_size", "overlap", "fold_enrichment", "p", "fdr"],
            f"over-representation ({sets.provenance.name}; hypergeometric, BH FDR)",
            min(top, 15),
        )
        meta["overrepresentation"] = json.loads(ora.to_json(orient="records"))
    if out is not None:
        _write(out, table, meta, result.provenance)
        console.print(f"wrote {out}")


def _translate_statistic(
    path: Path, one_to_many: str, many_to_one: str, out: Path | None, top: int
) -> None:
    from translocus.translate.genesets import translate_statistic

    if not path.is_file():
        raise InputError(f"--statistic {path}: file not found.")
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    table = pd.read_csv(path, sep=sep)
    if table.shape[1] < 2:
        raise InputError(
            f"{path}: needs two columns, the mouse gene and its value (e.g. gene,log2fc)."
        )
    genes_col, value_col = table.columns[0], table.columns[1]
    values = pd.to_numeric(table[value_col], errors="coerce")
    bad = table.index[values.isna()].tolist()
    if bad:
        rows = ", ".join(str(i + 2) for i in bad[:5])
        raise InputError(
            f"{path}, column '{value_col}': {len(bad)} values are not numbers (rows {rows})."
        )
    series = pd.Series(values.to_numpy(), index=table[genes_col].astype(str).str.strip())
    with errors.status("loading orthology tables"):
        result = translate_statistic(series, one_to_many=one_to_many, many_to_one=many_to_one)
    human = result.values.rename_axis("human_symbol").reset_index()
    _show(human, ["human_symbol", "value"], f"{value_col} on human genes ({result.rule})", top)
    for message in result.messages:
        console.print(escape(message), highlight=False)
    if out is not None:
        meta = {"query": {"statistic": str(path)}, "rule": result.rule,
                "messages": result.messages,
                "mapping": json.loads(result.mapping.to_json(orient="records"))}  # fmt: skip
        _write(out, human, meta, result.provenance)
        console.print(f"wrote {out}")


def _translate_interval(
    text: str,
    assembly: str,
    loci: str,
    loci_assembly: str,
    window_kb: float,
    expect: str | None,
    out: Path | None,
    top: int,
) -> None:
    from translocus.translate.interval import parse_interval

    chr_, start, end, note = parse_interval(text)
    if note:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    with errors.status("loading gene, orthology and loci tables"):
        engine = _engine(loci, loci_assembly, window_kb, assembly)
    expected = _gene_list(expect) if expect else None
    result = engine.interval(chr=chr_, start_mbp=start, end_mbp=end, expected_genes=expected)
    candidates = result.candidates
    _show(
        candidates,
        _CANDIDATE_VIEW,
        f"{chr_}:{start:g}-{end:g} Mbp ({assembly}) -> human candidates",
        top,
    )
    console.print(result.summary(), highlight=False)
    for message in result.messages:
        console.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False)
    console.print(f"[dim]{engine.loci.note}[/dim]", highlight=False)
    if out is not None:
        meta = {
            "query": {"chr": chr_, "start_mbp": start, "end_mbp": end, "assembly": assembly},
            "summary": result.summary(),
            "messages": result.messages,
            "loci": engine.loci.name,
            "window_kb": window_kb,
        }
        _write(out, candidates, meta, result.provenance)
        console.print(f"wrote {out}")


def _translate_peaks(
    folder: Path,
    assembly: str,
    loci: str,
    loci_assembly: str,
    window_kb: float,
    out: Path | None,
    top: int,
) -> None:
    from translocus.translate.peaks import read_peaks, translate_peaks

    table, effects, path = read_peaks(folder)
    with errors.status("loading gene, orthology and loci tables"):
        engine = _engine(loci, loci_assembly, window_kb, assembly)
    result = translate_peaks(table, effects=effects, engine=engine)
    _show(
        result.peaks,
        [
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
        ],
        f"QTL peaks from {path} ({assembly})",
        top,
    )
    hits = result.hits
    if hits.empty:
        console.print(
            f"no human ortholog of any peak's genes lies within {window_kb:g} kb of a locus "
            f"in {engine.loci.name}."
        )
    else:
        _show(hits, ["lodcolumn", *_CANDIDATE_VIEW], "candidates near human loci", top)
    for message in result.messages:
        console.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False)
    if out is not None:
        meta = {
            "query": {"peaks": path, "assembly": assembly},
            "messages": result.messages,
            "loci": engine.loci.name,
            "window_kb": window_kb,
            "peaks": json.loads(result.peaks.to_json(orient="records")),
        }
        _write(out, result.candidates, meta, result.provenance)
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``translate`` to the ``translocus`` command."""
    app.command("translate", epilog=_EXAMPLES)(translate_command)
