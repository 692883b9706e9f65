# R/qtl2 timings (cores=1) for benchmarks/study_speed.py, on the subset cross it writes.
#
# The subset holds the first markers of two autosomes of the simulated study cross (the same
# animals, genotypes and phenotypes); study_speed.py scales the times to the whole genome:
# genotype and allele probabilities and the LOCO kinship per marker, the LMM scan as one
# constant per chromosome (its kinship decomposition and null fits: a scan of one marker)
# plus a cost per marker (from the scan of the larger subset chromosome).
#
# Run: R_LIBS=/opt/rlib Rscript benchmarks/study_speed.R CONTROL.json OUT.csv TRAITS...
#   CONTROL.json  the subset cross (translocus write_cross)
#   OUT.csv       one row per timing: step, traits, markers, seconds (elapsed), cpu_seconds
#   TRAITS        numbers of traits for the LMM LOCO scans (e.g. 2 100)
suppressPackageStartupMessages(library(qtl2))

args <- commandArgs(trailingOnly = TRUE)
control <- args[1]
out_file <- args[2]
n_traits <- as.integer(args[-(1:2)])

cross <- read_cross2(control, quiet = TRUE)
rows <- list()
add <- function(step, traits, markers, seconds) {
    rows[[length(rows) + 1]] <<- data.frame(step = step, traits = traits, markers = markers,
                                            seconds = seconds[["elapsed"]],
                                            cpu_seconds = seconds[["cpu"]])
}
elapsed <- function(expr) {
    t <- system.time(expr)
    c(elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
}
n_mar <- sum(n_mar(cross))

sec <- elapsed(pr <- calc_genoprob(cross, error_prob = 0.002, map_function = "haldane",
                                   cores = 1))
add("calc_genoprob", 0, n_mar, sec)
sec <- elapsed(apr <- genoprob_to_alleleprob(pr, cores = 1))
add("genoprob_to_alleleprob", 0, n_mar, sec)
rm(pr)
sec <- elapsed(kin <- calc_kinship(apr, type = "loco", cores = 1))
add("calc_kinship_loco", 0, n_mar, sec)
sec <- elapsed(decomp_kinship(kin[[1]], cores = 1))
add("decomp_kinship", 0, 0, sec)

# the larger subset chromosome, whole and as its first marker only
chr <- names(apr)[which.max(dim(apr)[3, ])]
part <- apr[, chr]
one <- part
one[[chr]] <- one[[chr]][, , 1, drop = FALSE]
for (t in n_traits) {
    y <- cross$pheno[, seq_len(t), drop = FALSE]
    sec <- elapsed(scan1(part, y, kinship = kin[chr], cores = 1))
    add("scan1_lmm_loco_chromosome", t, dim(part)[3, chr], sec)
    sec <- elapsed(scan1(one, y, kinship = kin[chr], cores = 1))
    add("scan1_lmm_loco_one_marker", t, 1, sec)
}
write.csv(do.call(rbind, rows), out_file, row.names = FALSE)
