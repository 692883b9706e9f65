"""Chromosome names and lengths of the four assemblies translocus translates between.

Lengths (bp) are those of the primary-assembly chromosomes in the NCBI/GRC assembly
reports (GRCm39 = GCA_000001635.9, GRCm38.p6 = GCA_000001635.8, GRCh38 = GCA_000001405.15,
GRCh37 = GCA_000001405.1).
"""

from __future__ import annotations

from translocus.core.errors import InputError

__all__ = ["CHROMOSOME_LENGTHS", "chromosome_length", "normalize_chr"]

CHROMOSOME_LENGTHS: dict[str, dict[str, int]] = {
    "GRCm39": {
        "1": 195154279, "2": 181755017, "3": 159745316, "4": 156860686, "5": 151758149,
        "6": 149588044, "7": 144995196, "8": 130127694, "9": 124359700, "10": 130530862,
        "11": 121973369, "12": 120092757, "13": 120883175, "14": 125139656,
        "15": 104073951, "16": 98008968, "17": 95294699, "18": 90720763, "19": 61420004,
        "X": 169476592, "Y": 91455967, "MT": 16299,
    },
    "GRCm38": {
        "1": 195471971, "2": 182113224, "3": 160039680, "4": 156508116, "5": 151834684,
        "6": 149736546, "7": 145441459, "8": 129401213, "9": 124595110, "10": 130694993,
        "11": 122082543, "12": 120129022, "13": 120421639, "14": 124902244,
        "15": 104043685, "16": 98207768, "17": 94987271, "18": 90702639, "19": 61431566,
        "X": 171031299, "Y": 91744698, "MT": 16299,
    },
    "GRCh38": {
        "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259,
        "6": 170805979, "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422,
        "11": 135086622, "12": 133275309, "13": 114364328, "14": 107043718,
        "15": 101991189, "16": 90338345, "17": 83257441, "18": 80373285, "19": 58617616,
        "20": 64444167, "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415,
        "MT": 16569,
    },
    "GRCh37": {
        "1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260,
        "6": 171115067, "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747,
        "11": 135006516, "12": 133851895, "13": 115169878, "14": 107349540,
        "15": 102531392, "16": 90354753, "17": 81195210, "18": 78077248, "19": 59128983,
        "20": 63025520, "21": 48129895, "22": 51304566, "X": 155270560, "Y": 59373566,
        "MT": 16569,
    },
}  # fmt: skip

_ALIASES = {"M": "MT", "MT": "MT", "X": "X", "Y": "Y", "23": "X", "24": "Y"}


def normalize_chr(value: object) -> str:
    """Canonical chromosome name: ``"chr7"``, ``7`` and ``"7"`` all give ``"7"``.

    >>> normalize_chr("chrX"), normalize_chr(2), normalize_chr("chrM")
    ('X', '2', 'MT')
    """
    text = str(value).strip()
    if text.lower().startswith("chr"):
        text = text[3:]
    upper = text.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper.endswith(".0") and upper[:-2].isdigit():
        upper = upper[:-2]
    return (upper.lstrip("0") or upper) if upper.isdigit() else text


def chromosome_length(assembly: str, chr: str) -> int:
    """Length in bp of chromosome ``chr`` of ``assembly``; clear error when unknown.

    >>> chromosome_length("GRCm39", "chr7")
    144995196
    """
    if assembly not in CHROMOSOME_LENGTHS:
        raise InputError(
            f"assembly {assembly!r} is not known; use one of {sorted(CHROMOSOME_LENGTHS)}."
        )
    lengths = CHROMOSOME_LENGTHS[assembly]
    name = normalize_chr(chr)
    if name not in lengths:
        raise InputError(
            f"chromosome {chr!r} is not a chromosome of {assembly}; use one of "
            f"{', '.join(lengths)}."
        )
    return lengths[name]
