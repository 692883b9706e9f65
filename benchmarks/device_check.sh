#!/usr/bin/env bash
# GPU checks of the cause engine in one run: the CUDA tests, then the LMM benchmark on the torch
# backend (26-trait LOCO scan and 1,000 LOCO permutations with R/qtl2's permutation matrix,
# compared with R/qtl2's timings and maxima). Results go to $OUT (default benchmarks/results).
#
# Needs a python3 with torch (CUDA), numba, numpy, pandas, xarray, scipy, typer, rich,
# matplotlib and pyarrow, and the DO_Recla data and references under $TRANSLOCUS_DATA and
# $TRANSLOCUS_REF (default ../shared/data and ../shared/ref). Only these are read:
#   data: qtl2/DO_Recla/recla.zip
#   ref:  qtl2/DO_Recla/{perm_indices_1000_seed20260101.csv.gz, perm_lmm_loco_OF_immobile_pct_100.csv,
#         lod_lmm_loco.csv.gz} and the files the selected tests read
#
# Then the study-size shapes of benchmarks/study_speed.py on the device machine (simulated there,
# no data needed; no R there: the R/qtl2 columns come from this machine's run): genotype
# probabilities of a DO of 750 and 2,000 mice and a CC-like panel of 70 lines at 110,000 markers
# with 1 and 16 threads, and the kinship and LMM LOCO scans of 2 and 100 traits on the CUDA
# device, every marker (the device has the memory for it): study_speed_cuda.json.
# STUDY_SHAPES (default do750,do2000,cc70) picks the shapes, STUDY_SCALE=small a quick check.
#
# Last, the molecular-trait case of benchmarks/eqtl_scale.py (simulated there: 742 DO mice x
# 6,400 markers x 20,000 traits, sex covariate): genotype probabilities, LOCO kinship and the
# LMM LOCO eQTL scan of all traits on the CPU (16 threads), then the same scan on the CUDA
# device, its per-trait maximum LODs compared with the CPU's (target: <= 3 s, equal to 1e-6
# LOD): eqtl_scale_cpu16.json and eqtl_scale_cuda.json. EQTL_TRAITS (default 20000) sets the
# traits; SKIP_EARLIER=1 runs this section alone.
#
# Run from the repository root: bash benchmarks/device_check.sh
set -euo pipefail
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
if [ "${SKIP_EARLIER:-0}" != 1 ]; then
python3 -m pytest -q -p no:cacheprovider -m gpu \
    tests/core/test_compute.py tests/genetics/test_accelerated.py \
    tests/genetics/test_scan_genome.py 2>&1 | tee "$OUT/device_tests.log"
python3 benchmarks/lmm_speed.py --backend torch --device cuda --repeat 5 --perms 1000 \
    --out "$OUT/lmm_speed_cuda.json" 2>&1 | tee "$OUT/lmm_speed_cuda.log"
python3 benchmarks/study_speed.py --scale "${STUDY_SCALE:-full}" --no-r --threads 1,16 \
    --shapes "${STUDY_SHAPES:-do750,do2000,cc70}" --lmm-shapes "${STUDY_SHAPES:-do750,do2000,cc70}" \
    --lmm-every 1 --backend torch --device cuda --out "$OUT/study_speed_cuda.json" 2>&1 \
    | tee "$OUT/study_speed_cuda.log"
fi
EQTL_CACHE=${EQTL_CACHE:-/tmp/translocus-eqtl-scale}
python3 benchmarks/eqtl_scale.py --traits "${EQTL_TRAITS:-20000}" --threads 16 --no-r \
    --steps genoprob,kinship,lmm,matmul --cache "$EQTL_CACHE" --out "$OUT/eqtl_scale_cpu16.json" \
    2>&1 | tee "$OUT/eqtl_scale_cpu16.log"
python3 benchmarks/eqtl_scale.py --traits "${EQTL_TRAITS:-20000}" --threads 16 --no-r \
    --steps lmm --backend torch --device cuda --cache "$EQTL_CACHE" \
    --out "$OUT/eqtl_scale_cuda.json" 2>&1 | tee "$OUT/eqtl_scale_cuda.log"
