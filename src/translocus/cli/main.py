"""The ``translocus`` command: one typer app, with each engine's commands registered in.

:func:`main` is the console entry point and :func:`run_cli` the same call for tests: it
applies the command-line contract (:mod:`translocus.cli.contract`) to every command — exit
0 on success, 2 with one line for a user's mistake, 1 with one line and a log path for an
unexpected error, and no raw traceback or Python warning on the terminal.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import typer
from rich.markup import escape
from rich.table import Table

from translocus import __version__
from translocus.cli import contract, foundation, genetics, progression, survival, translate
from translocus.cli import eqtl as eqtl_cli
from translocus.cli import mediate as mediate_cli
from translocus.cli import qc as qc_cli
from translocus.cli import serve as serve_cli
from translocus.cli import snps as snps_cli
from translocus.cli import treatment as treatment_cli
from translocus.cli.contract import err, out, user_error_line
from translocus.core.errors import InputError, UserError

__all__ = ["app", "main", "run_cli"]

_typer_click: Any
try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions

app = typer.Typer(
    name="translocus",
    help="Mouse-model data to human disease answers: cause, progression, treatment, translation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"translocus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Mouse-model data to human disease answers: cause, progression, treatment, translation."""


@app.command()
def info(
    cross: Path = typer.Argument(
        ..., help="R/qtl2 control file (.json/.yaml), its folder or a .zip."
    ),
    intersection: bool = typer.Option(
        False, "--intersection", help="Keep only phenotyped individuals that are genotyped."
    ),
) -> None:
    """Summarise a cross, like R/qtl2's summary(), with the names --pheno and --covar take.

    Example: translocus info ../shared/data/qtl2/DO_Recla/recla.zip
    """
    from translocus.core.runs import RunLog
    from translocus.pipelines.genoprob import read_cross_logged

    if not cross.exists():
        raise InputError(f"{cross}: not found; give an R/qtl2 control file, its folder or a .zip")
    obj = read_cross_logged(cross, RunLog(), intersection=intersection)
    summary = obj.summary()
    table = Table(title=f"{cross}", show_header=False)
    labels = {
        "crosstype": "cross type",
        "individuals": "individuals (genotyped)",
        "individuals_phenotyped": "individuals (phenotyped)",
        "individuals_both": "individuals (both)",
        "females": "females",
        "males": "males",
        "chromosomes": "chromosomes",
        "markers": "markers",
        "phenotypes": "phenotypes",
        "covariates": "covariates",
        "phenotype_covariates": "phenotype covariates",
        "founders": "founders",
        "missing_genotypes": "missing genotypes (fraction)",
        "total_cM": "total map length (cM)",
    }
    for key, label in labels.items():
        value = summary[key]
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    out.print(table)
    per_chr = obj.markers_per_chromosome()
    out.print("markers per chromosome: " + "  ".join(f"{c}:{n}" for c, n in per_chr.items()))
    phenotypes = list(obj.pheno.columns)
    out.print("phenotypes (--pheno): " + (_names(phenotypes) if phenotypes else "none"))
    covar_names = list(obj.covar.columns) if obj.covar is not None else []
    if len(obj.is_female) and "sex" not in covar_names:
        covar_names.insert(0, "sex")  # from the cross's sex information
    out.print("covariates (--covar): " + (_names(covar_names) if covar_names else "none"))


def _names(names: Sequence[object], limit: int = 60) -> str:
    shown = ", ".join(escape(str(n)) for n in list(names)[:limit])
    more = len(names) - limit
    return shown + (f", ... ({more:,} more)" if more > 0 else "")


@app.command()
def demo(
    out_dir: Path = typer.Option(
        Path("demo"), "--out", "-o", help="Run folder for the study, every part and report.html."
    ),
    n: int = typer.Option(300, "--n", help="Number of simulated Diversity Outbred mice."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the simulated study."),
    full: bool = typer.Option(False, "--full", help="Full-size analyses instead of quick ones."),
) -> None:
    """Simulate a study, run every engine and write a self-contained report.html.

    Example: translocus demo --out demo --n 300 --seed 1
    """
    from translocus.pipelines.demo import DemoRequest, run_demo
    from translocus.report.demo import write_demo_report

    request = DemoRequest(n=n, seed=seed, full=full)
    output, log, folder = contract.run_pipeline(
        "demo", request, run_demo, out_dir=out_dir, extra_writers=[write_demo_report]
    )
    for step in log.steps:
        if step["name"] in output.parts or step["name"] == "simulate study":
            out.print(f"[green]✓[/green] {step['name']} ({step['wall_s']:.1f} s)")
    for name, reason in output.skipped.items():
        out.print(f"[yellow]–[/yellow] {name} skipped: {escape(reason)}")
    out.print(f"report written to [bold]{folder}/report.html[/bold]")


for _engine in (
    foundation,
    genetics,
    qc_cli,
    snps_cli,
    mediate_cli,
    eqtl_cli,
    progression,
    survival,
    treatment_cli,
    translate,
    serve_cli,
):
    _engine.register(app)


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return its exit code.

    Nothing escapes as a traceback: user errors print one ``error:`` line (exit 2),
    unexpected errors one line with the path of a log file holding the traceback (exit 1),
    and Python warnings are recorded, then printed one line each.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    contract.ARGV[:] = ["translocus", *args]
    contract.follow_terminal_width()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _dispatch(args)
        seen: set[str] = set()
        for item in caught:
            line = " ".join(str(item.message).split())
            if line and line not in seen:
                seen.add(line)
                err.print(f"[yellow]warning:[/yellow] {escape(line)}")
    return code


def _both(name: str) -> tuple[type[BaseException], ...]:
    found = {getattr(m, name, None) for m in (click.exceptions, _typer_click)}
    return tuple(c for c in found if isinstance(c, type))


_NO_ARGS = _both("NoArgsIsHelpError")
_USAGE = _both("UsageError")
_CLICK = _both("ClickException")
_ABORT = _both("Abort")
_EXIT = _both("Exit")


def _dispatch(args: list[str]) -> int:
    try:
        result = app(args=args, prog_name="translocus", standalone_mode=False)
    except BaseException as exc:  # the contract: every outcome is an exit code and one line
        return _outcome(exc)
    return int(result) if isinstance(result, int) else 0


def _outcome(exc: BaseException) -> int:
    """The exit code for an exception, after printing its one line (or the help)."""
    problem: Any = exc
    if isinstance(exc, _NO_ARGS):
        problem.show()
        return 0
    if isinstance(exc, UserError):
        err.print(f"[red]error:[/red] {escape(user_error_line(exc))}")
        return 2
    if isinstance(exc, _USAGE):
        ctx = problem.ctx
        hint = f" (see translocus {ctx.info_name} --help)" if ctx and ctx.parent else ""
        err.print(f"[red]error:[/red] {escape(' '.join(problem.format_message().split()))}{hint}")
        return 2
    if isinstance(exc, _CLICK):
        err.print(f"[red]error:[/red] {escape(' '.join(problem.format_message().split()))}")
        return int(problem.exit_code)
    if isinstance(exc, (KeyboardInterrupt, *_ABORT)):
        err.print("[red]error:[/red] interrupted; the output folder is as it was before this run")
        return 130
    if isinstance(exc, (typer.Exit, SystemExit, *_EXIT)):
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        return int(code or 0) if not isinstance(code, str) else 1
    if isinstance(exc, BrokenPipeError):
        return 1
    path = contract.log_crash(exc, contract.ARGV)
    where = f"; the traceback is in {path}" if path else ""
    first = " ".join(str(exc).split())[:200]
    err.print(
        f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(first)}{where} "
        "(please report it with that file)"
    )
    return 1


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point: the exit code of :func:`run_cli`."""
    sys.exit(run_cli())


if __name__ == "__main__":  # pragma: no cover
    main()
