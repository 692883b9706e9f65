"""Translating the cause engine's QTL peaks: support interval → human candidates.

A peaks table (``peaks.parquet`` or ``peaks.csv`` in a run folder of ``translocus scan``)
has columns ``lodindex, lodcolumn, chr, pos, lod, ci_lo, ci_hi`` with positions in Mbp on
the physical map. The genome build of those positions is the scan's: ``run.json``
"summary" → "assembly" (``GRCm38``/``GRCm39``, or ``null`` when the scan did not know it);
an older scan folder's ``summary.json`` is read the same way (:func:`peaks_assembly`). Each peak's support interval ``[ci_lo, ci_hi]`` is translated with a
:class:`~translocus.translate.interval.TranslationEngine`; a peak without a support
interval uses ``pos ± flank_mbp``.

An optional founder-allele effects table (``effects.parquet|csv``,
``founder_effects.parquet|csv``, or the scan's ``peak_effects.csv`` of DO/CC crosses, whose
coefficients ``A``-``H`` are the founders) in the same folder gives, per peak, one numeric column per
founder (wide: keyed by ``lodindex`` or by ``lodcolumn`` + ``chr``), or long rows
``lodcolumn, chr, founder, effect``. Each peak's effects become a pattern string: founders
more than 0.75 SD above the mean of the eight effects are ``high``, more than 0.75 SD
below ``low`` (DO/CC letters A–H are named AJ, B6, 129, NOD, NZO, CAST, PWK, WSB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.provenance import Provenance
from translocus.core.runs import RUN_FILE, read_run
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, normalize_chr
from translocus.translate.interval import TranslationEngine, default_engine

__all__ = [
    "FOUNDER_NAMES",
    "PeakTranslation",
    "check_scan_run",
    "founder_pattern",
    "peaks_assembly",
    "read_peaks",
    "translate_peaks",
]

#: Short names of the eight DO/CC founder strains, by their R/qtl2 letters.
FOUNDER_NAMES: dict[str, str] = {
    "A": "AJ",
    "B": "B6",
    "C": "129",
    "D": "NOD",
    "E": "NZO",
    "F": "CAST",
    "G": "PWK",
    "H": "WSB",
}

_KEYS = {"lodindex", "lodcolumn", "chr", "pos", "lod", "ci_lo", "ci_hi", "marker", "peak"}


def founder_pattern(effects: pd.Series, *, threshold_sd: float = 0.75) -> str:
    """Summarise founder-allele effects as ``"high: CAST, PWK; low: AJ"``.

    >>> founder_pattern(pd.Series({"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0,
    ...                            "E": 0.0, "F": -1.0, "G": 0.0, "H": 0.0}))
    'high: AJ; low: CAST'
    """
    values = pd.to_numeric(effects, errors="coerce").dropna()
    if len(values) < 2:
        return ""
    centred = values - values.mean()
    sd = float(centred.std(ddof=0))
    if sd == 0.0:
        return "no difference between founders"
    names = [FOUNDER_NAMES.get(str(k), str(k)) for k in values.index]
    z = centred.to_numpy() / sd
    order = np.argsort(-z, kind="stable")
    high = [names[i] for i in order if z[i] > threshold_sd]
    low = [names[i] for i in order[::-1] if z[i] < -threshold_sd]
    parts = []
    if high:
        parts.append("high: " + ", ".join(high))
    if low:
        parts.append("low: " + ", ".join(low))
    return "; ".join(parts) if parts else "graded (no founder stands out)"


def _read_table(path: Path) -> pd.DataFrame:
    """A peaks or effects table; a file that is not one is one InputError naming it."""
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        with open(path, "rb") as handle:
            if b"\x00" in handle.read(4096):
                raise InputError(f"{path}: is a binary file, not a CSV table of peaks")
        return pd.read_csv(path, dtype={"chr": str})
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; rerun `translocus scan`") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{path}: cannot be read as a table ({reason})") from None


#: Names of the mouse genome builds, as ``scan`` records them or users write them.
_BUILDS = {"grcm39": "GRCm39", "mm39": "GRCm39", "grcm38": "GRCm38", "mm10": "GRCm38"}


def peaks_assembly(source: Path | str) -> str | None:
    """Mouse genome build recorded by ``translocus scan`` beside its peaks, if any.

    Read from the run folder's ``run.json`` ("summary" → "assembly"), or from an older
    scan folder's ``summary.json``. ``None`` when the scan did not record a build (then
    the user must say it: ``translate --assembly``).

    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "run.json").write_text(json.dumps(
    ...     {"translocus_run": 1, "command": "scan", "summary": {"assembly": "GRCm38"}}))
    >>> peaks_assembly(folder)
    'GRCm38'
    """
    source = Path(source)
    folder = source if source.is_dir() else source.parent
    record = read_run(folder)
    summary: object = None
    if record is not None:
        summary = record.get("summary")
    elif (folder / "summary.json").is_file():
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    if not isinstance(summary, dict):
        return None
    assembly = summary.get("assembly")
    return _BUILDS.get(str(assembly).lower()) if assembly else None


def check_scan_run(folder: Path | str) -> None:
    """Refuse the run folder of another command (``--peaks`` takes a scan's)."""
    folder = Path(folder)
    record = read_run(folder)
    if record is None:
        return
    command = record.get("command")
    if command not in (None, "scan"):
        raise InputError(
            f"{folder}: is a run folder of `translocus {command}`, not of `translocus scan`; "
            "give the folder a scan wrote (its --out)"
        )


def read_peaks(source: Path | str) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """Read ``peaks`` (and founder ``effects`` when present) from a scan run folder.

    Returns ``(peaks, effects_or_None, peaks_path)``. Raises
    :class:`~translocus.core.errors.InputError` when no peaks table is found, the folder is
    another command's run, or a required column is missing.
    """
    source = Path(source)
    if source.is_dir():
        check_scan_run(source)
        candidates = [source / "peaks.parquet", source / "peaks.csv"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            what = "a scan run folder" if (source / RUN_FILE).is_file() else "this folder"
            raise InputError(
                f"{source} holds no peaks.parquet or peaks.csv ({what}); give the run folder "
                "of `translocus scan ... --out DIR`, or the peaks file itself."
            )
        folder = source
    elif source.is_file():
        path, folder = source, source.parent
    else:
        raise InputError(f"{source} does not exist; give the folder written by `translocus scan`.")
    peaks = _read_table(path)
    missing = [c for c in ("chr", "pos") if c not in peaks.columns]
    if missing:
        raise InputError(
            f"{path}: column(s) {', '.join(missing)} missing; a peaks table needs chr, pos "
            "(Mbp) and, for support intervals, ci_lo and ci_hi."
        )
    effects = None
    for name in ("effects", "founder_effects"):
        for suffix in (".parquet", ".csv"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                effects = _read_table(candidate)
                break
        if effects is not None:
            break
    if effects is None and (folder / "peak_effects.csv").is_file():
        effects = _founder_effects(_read_table(folder / "peak_effects.csv"))
    return peaks, effects, str(path)


def _founder_effects(table: pd.DataFrame) -> pd.DataFrame | None:
    """The eight DO/CC founder coefficients (A-H) of ``scan``'s long ``peak_effects.csv``.

    The fixed effects (``method`` ``coef``) when the table also holds BLUPs.
    """
    need = {"coefficient", "estimate"}
    if not need <= set(table.columns) or not ({"lodindex", "lodcolumn"} & set(table.columns)):
        return None
    if "method" in table.columns:
        table = table[table["method"].astype(str) == "coef"]
    founders = table[table["coefficient"].astype(str).isin(list(FOUNDER_NAMES))]
    if founders["coefficient"].nunique() < len(FOUNDER_NAMES):
        return None  # not an eight-founder cross: its letters are not the DO founders
    keys = [c for c in ("lodindex", "lodcolumn", "chr") if c in founders.columns]
    return founders[keys + ["coefficient", "estimate"]].rename(
        columns={"coefficient": "founder", "estimate": "effect"}
    )


def _effect_patterns(peaks: pd.DataFrame, effects: pd.DataFrame | None) -> list[str]:
    if effects is None or effects.empty:
        return [""] * len(peaks)
    effects = effects.copy()
    if "chr" in effects.columns:
        effects["chr"] = effects["chr"].map(normalize_chr)
    if {"founder", "effect"} <= set(effects.columns):  # long form
        keys = [c for c in ("lodindex", "lodcolumn", "chr") if c in effects.columns]
        if not keys:
            raise InputError(
                "founder effects table: long form needs lodindex or lodcolumn to name the peak."
            )
        effects = effects.pivot_table(
            index=keys, columns="founder", values="effect", aggfunc="first"
        ).reset_index()
    founders = [
        c for c in effects.columns if c not in _KEYS and pd.api.types.is_numeric_dtype(effects[c])
    ]
    if not founders:
        raise InputError(
            "founder effects table has no numeric founder columns (A-H or strain names)."
        )
    if "lodindex" in effects.columns and "lodindex" in peaks.columns:
        keys = ["lodindex"] + (["chr"] if "chr" in effects.columns else [])
    elif "lodcolumn" in effects.columns and "lodcolumn" in peaks.columns:
        keys = ["lodcolumn"] + (["chr"] if "chr" in effects.columns else [])
    elif len(effects) == len(peaks):
        return [founder_pattern(row[founders]) for _, row in effects.iterrows()]
    else:
        raise InputError(
            "founder effects table cannot be matched to the peaks: give lodindex or lodcolumn "
            "(and chr) columns in both."
        )
    lookup = effects.drop_duplicates(keys).set_index(keys)[founders]
    out = []
    for _, peak in peaks.iterrows():
        key = tuple(peak[k] for k in keys)
        key_value = key if len(key) > 1 else key[0]
        if key_value in lookup.index:
            out.append(founder_pattern(lookup.loc[key_value]))
        else:
            out.append("")
    return out


@dataclass
class PeakTranslation:
    """Human translation of every QTL peak.

    Attributes
    ----------
    peaks
        One row per peak: the peak columns plus ``start_mbp, end_mbp`` (the interval used),
        ``n_genes, n_one2one, n_near_locus``, ``top_candidate`` and ``founder_pattern``.
    candidates
        Candidate rows of all peaks (see
        :data:`~translocus.translate.interval.CANDIDATE_COLUMNS`) with ``peak`` (row number
        of the peak), ``lodcolumn`` and ``founder_pattern``.
    messages
        Sentences for the user (unit conversions, build warnings, empty results).
    """

    peaks: pd.DataFrame
    candidates: pd.DataFrame
    messages: list[str] = field(default_factory=list)
    provenance: tuple[Provenance, ...] = ()

    @property
    def hits(self) -> pd.DataFrame:
        """The candidates near a disease locus."""
        return self.candidates[self.candidates["near_locus"]].reset_index(drop=True)


def translate_peaks(
    peaks: pd.DataFrame,
    *,
    effects: pd.DataFrame | None = None,
    engine: TranslationEngine | None = None,
    flank_mbp: float = 1.0,
) -> PeakTranslation:
    """Translate each peak's support interval to ranked human candidates.

    Parameters
    ----------
    peaks
        Cause-engine peaks (``chr, pos`` and ideally ``ci_lo, ci_hi``, Mbp).
    effects
        Optional founder-allele effects per peak (see the module notes).
    engine
        A :class:`TranslationEngine` (default: :func:`default_engine`).
    flank_mbp
        Half-width used when a peak has no support interval.
    """
    engine = engine or default_engine()
    if peaks.empty:
        raise InputError("the peaks table is empty: the scan found no peak above its threshold.")
    peaks = peaks.reset_index(drop=True).copy()
    messages: list[str] = []
    if "map" in peaks.columns:
        physical = peaks["map"].astype(str).str.contains("Mbp|pmap", case=False, regex=True)
        if not physical.any():
            raise InputError(
                "peaks table, column 'map': every peak is on the genetic map (cM); translation "
                "needs physical positions (Mbp): rerun the scan on the physical map."
            )
        if not physical.all():
            messages.append(
                f"{int((~physical).sum())} peak(s) on the genetic map (cM) left out; "
                "translated the physical-map (Mbp) peaks only."
            )
            peaks = peaks[physical].reset_index(drop=True)
    pos = pd.to_numeric(peaks["pos"], errors="coerce")
    lo = pd.to_numeric(peaks.get("ci_lo", pd.Series(np.nan, index=peaks.index)), errors="coerce")
    hi = pd.to_numeric(peaks.get("ci_hi", pd.Series(np.nan, index=peaks.index)), errors="coerce")
    if pos.isna().any():
        bad = ", ".join(str(i) for i in np.flatnonzero(pos.isna().to_numpy())[:5])
        raise InputError(f"peaks table, column 'pos': values are not numbers (rows {bad}).")
    if float(pos.max()) > 10_000:
        messages.append("peak positions are above 10,000: read as bp and converted to Mbp.")
        pos, lo, hi = pos / 1e6, lo / 1e6, hi / 1e6
    no_ci = lo.isna() | hi.isna()
    if no_ci.any():
        messages.append(
            f"{int(no_ci.sum())} peak(s) have no support interval; used pos ± {flank_mbp:g} Mbp."
        )
    lo = lo.where(~no_ci, (pos - flank_mbp).clip(lower=0.0))
    hi = hi.where(~no_ci, pos + flank_mbp)
    patterns = _effect_patterns(peaks, effects)
    rows = []
    tables = []
    for i, peak in peaks.iterrows():
        chr_ = normalize_chr(peak["chr"])
        start, end = float(lo[i]), float(hi[i])
        length = CHROMOSOME_LENGTHS[engine.mouse_assembly].get(chr_)
        if length is not None and end * 1e6 > length >= start * 1e6:
            other = "GRCm38" if engine.mouse_assembly == "GRCm39" else "GRCm39"
            other_length = CHROMOSOME_LENGTHS[other].get(chr_, 0)
            hint = (
                f"; it fits {other} ({other_length / 1e6:.3f} Mbp): are these {other} "
                f"coordinates? (--assembly {other})"
                if end * 1e6 <= other_length
                else ""
            )
            messages.append(
                f"peak {i} ({chr_}:{float(pos[i]):.2f}): support interval ends at "
                f"{end:.3f} Mbp, past the {engine.mouse_assembly} chromosome end "
                f"({length / 1e6:.3f} Mbp){hint}; clipped."
            )
            end = length / 1e6
        result = engine.interval(chr=chr_, start_mbp=start, end_mbp=end)
        label = str(peak.get("lodcolumn", i))
        messages.extend(
            f"peak {i} ({label}, {chr_}): {m}"
            for m in result.messages
            if not m.startswith("no human ortholog of the genes")
        )
        hits = result.hits
        top = hits.iloc[0] if len(hits) else None
        rows.append(
            {
                "start_mbp": start,
                "end_mbp": end,
                "n_genes": result.n_genes,
                "n_one2one": result.n_one2one,
                "n_near_locus": result.n_near_locus,
                "top_candidate": (
                    f"{top['human_symbol']} ({top['distance_kb']:.0f} kb from {top['locus_name']})"
                    if top is not None
                    else ""
                ),
                "founder_pattern": patterns[i],
            }
        )
        table = result.candidates.assign(peak=i, lodcolumn=label, founder_pattern=patterns[i])
        tables.append(table)
    summary = pd.concat([peaks, pd.DataFrame(rows)], axis=1)
    n_none = int((summary["n_near_locus"] == 0).sum())
    if n_none:
        messages.append(
            f"{n_none} of {len(summary)} peak(s) have no protein-coding human ortholog within "
            f"{engine.window_kb:g} kb of a locus in {engine.loci.name}."
        )
    candidates = pd.concat(tables, ignore_index=True)
    order = ["peak", "lodcolumn"] + [
        c for c in candidates.columns if c not in ("peak", "lodcolumn")
    ]
    return PeakTranslation(
        peaks=summary,
        candidates=candidates[order],
        messages=messages,
        provenance=engine.provenance,
    )
