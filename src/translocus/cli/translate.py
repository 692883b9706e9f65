"""``translocus translate``: mouse genes, QTL intervals or scan peaks → human genes and loci."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from translocus.cli.contract import out, run_pipeline

if TYPE_CHECKING:  # pandas loads with the pipeline, not with every command's start
    import pandas as pd

__all__ = ["register", "translate_command"]

_EXAMPLES = """
Examples:

  translocus translate --genes App,Apoe,Trem2,Bin1,Picalm,Clu,Abca7,Sorl1,Cd33

  translocus translate --interval 7:18.9-19.9 --window-kb 500

  translocus translate --interval 2:160.5-164.2 --out chr2_candidates

  translocus translate --peaks results/recla_scan --assembly GRCm38

  translocus translate --genes my_signature.txt --gene-sets mgi

  translocus translate --statistic log2fc.csv --one-to-many best --many-to-one mean
"""


def _show(table: pd.DataFrame, columns: list[str], title: str, top: int) -> None:
    import pandas as pd

    shown = table[[c for c in columns if c in table.columns]].head(top)
    rich_table = Table(title=escape(title), show_lines=False, header_style="bold")
    for column in shown.columns:
        rich_table.add_column(escape(str(column)), overflow="fold")
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
    out.print(rich_table)
    if len(table) > top:
        out.print(f"[dim]{len(table) - top} more rows (use --top or --out)[/dim]")


def translate_command(
    interval: str = typer.Option(
        None, "--interval", help="Mouse interval CHR:START-END in Mbp, e.g. 2:160.5-164.2."
    ),
    genes: str = typer.Option(
        None, "--genes", help="Comma-separated mouse genes (symbols/IDs), or a file of them."
    ),
    peaks: Path = typer.Option(
        None, "--peaks", help="Run folder written by 'translocus scan' (peaks.csv, run.json)."
    ),
    statistic: Path = typer.Option(
        None,
        "--statistic",
        help="CSV/TSV of mouse gene and a per-gene value (e.g. log fold change) to move to human.",
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        help="With --statistic: its columns by role, e.g. gene=symbol,statistic=log2fc "
        "(default: columns gene and statistic, else the first two).",
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
        help="Mouse genome build of --interval/--peaks: GRCm39 or GRCm38 (default: the build "
        "recorded by `translocus scan`; an interval without it is GRCm39).",
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
    out_dir: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Run folder for the full tables (CSV) and run.json; without it nothing is written.",
    ),
    top: int = typer.Option(25, "--top", help="Rows to print."),
) -> None:
    """Translate mouse genes, a QTL interval or scan peaks to human genes and disease loci.

    Example: translocus translate --genes App,Apoe,Trem2 --out results/ad_genes
    """
    from translocus.pipelines.translate import TranslateRequest, run_translate

    request = TranslateRequest(
        interval=interval, genes=genes, peaks=peaks, statistic=statistic,
        one_to_many=one_to_many, many_to_one=many_to_one, assembly=assembly, loci=loci,
        loci_assembly=loci_assembly, window_kb=window_kb, expect=expect, gene_sets=gene_sets,
        top=top, columns=columns,
    )  # fmt: skip
    output, _, folder = run_pipeline(
        "translate", request, run_translate, out_dir=out_dir, inputs=request.inputs()
    )
    for view in output.views:
        _show(view.table, view.columns, view.title, min(top, view.top or top))
    for line in output.lines:
        out.print(escape(line))
    for message in output.messages:
        out.print(f"[yellow]note:[/yellow] {escape(message)}")
    if folder is not None:
        names = ", ".join(f"{name}.csv" for name in output.tables)
        out.print(f"results: {escape(str(folder))}/ ({names}, run.json)")


def register(app: typer.Typer) -> None:
    """Add ``translate`` to the ``translocus`` command."""
    app.command("translate", epilog=_EXAMPLES)(translate_command)
