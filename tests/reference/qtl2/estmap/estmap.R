# R/qtl2 0.43-5 reference maps of est_map (EM re-estimation of the genetic map).
#
#   cd tests/reference/qtl2/estmap && R_LIBS=/opt/rlib Rscript estmap.R [QTL2_DATA_DIR [run ...]]
#
# Outputs (every number with 17 significant digits):
#   <name>.csv   chr, marker, pos (cM, estimated), loglik (of the chromosome)
#   timing.csv   name, seconds (timing_<runs>.csv when runs are named)
# Runs:
#   iron_haldane        iron (f2, with X), est_map(error_prob=1e-4, map_function="haldane")
#   iron_kosambi        iron, est_map(error_prob=0.002, map_function="kosambi")
#   grav2               grav2 (riself), est_map(error_prob=1e-4)
#   bxd_19_X            BXD (risib) chromosomes 19 and X, est_map(error_prob=0.002)
#                       (about 19 minutes: thousands of EM iterations)
#   bxd_19_X_first60    the same, the first 60 markers of each chromosome only
#   sim_bc, sim_dh      the crosses in sim_bc.zip and sim_dh.zip (made by `translocus simulate
#                       --cross bc --n 120 --markers 150 --seed 1` and `--cross dh --n 80
#                       --markers 100 --seed 2`, phenotypes left out), est_map(error_prob=0.002)
#   sim_riself4, sim_riself8, sim_riself16, sim_risib4
#                       the same for `--cross <type> --n 60 --markers 120` with seeds 3, 4, 5
#                       and 6 (some chromosomes take thousands of iterations; about 40 minutes)
#   sim_risib8          8-way RIL by sib mating (each line its own funnel, with X): `--cross
#                       risib8 --n 60 --markers 120 --seed 7`
#   sim_magic19         19-way MAGIC lines by selfing: `--cross magic19 --n 60 --markers 120
#                       --seed 8`, chromosomes 5, 8, 11, 13 and 18 kept. On 8 and 11 the share
#                       of founder changes in the first interval passes 18/19 (iterations 208
#                       and 241): R/qtl2's M step gives NaN there, then everywhere, and it
#                       stops without a warning; positions past the first and loglik are NaN
#   sim_magic19_cut     chromosomes 8 and 11 of sim_magic19 without their first marker (the
#                       unlinked interval), est_map(error_prob=0.002, tol=1e-10)
#   DOex raises an error in R/qtl2 (est_map is not implemented for Diversity Outbred).
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"
runs <- if(length(args) > 1) args[-1] else c("iron_haldane", "iron_kosambi", "grav2", "bxd_19_X",
                                              "bxd_19_X_first60", "sim_bc", "sim_dh",
                                              "sim_riself4", "sim_riself8", "sim_riself16",
                                              "sim_risib4", "sim_risib8", "sim_magic19",
                                              "sim_magic19_cut")
num <- function(x) sprintf("%.17g", x)

times <- c()
run <- function(name, cross, ...) {
  if(!(name %in% runs)) return(invisible(NULL))
  t0 <- proc.time()[["elapsed"]]
  m <- est_map(cross, ...)
  times[[name]] <<- proc.time()[["elapsed"]] - t0
  df <- do.call("rbind", lapply(names(m), function(chr)
    data.frame(chr=chr, marker=names(m[[chr]]), pos=num(m[[chr]]),
               loglik=num(attr(m[[chr]], "loglik")), stringsAsFactors=FALSE)))
  write.csv(df, paste0(name, ".csv"), row.names=FALSE, quote=TRUE)
}

iron <- read_cross2(file.path(data, "iron/iron.zip"), quiet=TRUE)
run("iron_haldane", iron, error_prob=1e-4, map_function="haldane")
run("iron_kosambi", iron, error_prob=0.002, map_function="kosambi")
grav2 <- read_cross2(file.path(data, "grav2/grav2.zip"), quiet=TRUE)
run("grav2", grav2, error_prob=1e-4)
bxd <- read_cross2(file.path(data, "BXD/bxd.zip"), quiet=TRUE)
run("bxd_19_X", bxd[, c("19", "X")], error_prob=0.002)
first60 <- unlist(lapply(bxd$gmap[c("19", "X")], function(m) names(m)[1:60]))
run("bxd_19_X_first60", pull_markers(bxd[, c("19", "X")], first60), error_prob=0.002)
for(name in c("sim_bc", "sim_dh", "sim_riself4", "sim_riself8", "sim_riself16", "sim_risib4",
              "sim_risib8", "sim_magic19"))
  run(name, read_cross2(paste0(name, ".zip"), quiet=TRUE), error_prob=0.002)
magic19 <- read_cross2("sim_magic19.zip", quiet=TRUE)[, c("8", "11")]
first <- sapply(magic19$gmap, function(m) names(m)[1])
run("sim_magic19_cut", drop_markers(magic19, first), error_prob=0.002, tol=1e-10)
write.csv(data.frame(name=names(times), seconds=unlist(times)),
          if(length(args) > 1) paste0("timing_", paste(runs, collapse="_"), ".csv")
          else "timing.csv", row.names=FALSE)
