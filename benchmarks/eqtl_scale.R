# R/qtl2 timings (cores=1) for benchmarks/eqtl_scale.py: scan1 of a few molecular traits, HK
# and LMM LOCO, on the allele probabilities and LOCO kinships the Python side computed (the
# same numbers, so the LODs can be compared), with sex as the additive covariate.
#
# Run: R_LIBS=/opt/rlib Rscript benchmarks/eqtl_scale.R FOLDER
#   FOLDER holds what eqtl_scale.py writes (its export step):
#     markers.csv          chr, marker, pos, is_x (genome order)
#     alleles.csv          founder letters
#     alleleprob_<chr>.bin float64 [mouse, allele, marker] (R's column-major order)
#     kinship_<chr>.bin    float64 [mouse, mouse], the LOCO kinship of each chromosome
#     pheno.csv            id, then the traits scanned
#     covar.csv            id, sex (0/1)
#   and receives r_times.csv (step, traits, seconds, cpu_seconds) and r_lod_hk.bin,
#   r_lod_lmm.bin (float64 LODs, [marker, trait] column-major).
suppressPackageStartupMessages(library(qtl2))

folder <- commandArgs(trailingOnly = TRUE)[1]
path <- function(name) file.path(folder, name)

markers <- read.csv(path("markers.csv"), colClasses = c(chr = "character",
                                                        marker = "character"))
alleles <- read.csv(path("alleles.csv"), colClasses = "character")$allele
pheno <- as.matrix(read.csv(path("pheno.csv"), row.names = 1, check.names = FALSE))
covar <- as.matrix(read.csv(path("covar.csv"), row.names = 1))
ids <- rownames(pheno)
n <- length(ids)
chrs <- unique(markers$chr)

apr <- list()
kinship <- list()
for (chr in chrs) {
    mar <- markers$marker[markers$chr == chr]
    values <- readBin(path(paste0("alleleprob_", chr, ".bin")), "double",
                      n = n * length(alleles) * length(mar))
    apr[[chr]] <- array(values, dim = c(n, length(alleles), length(mar)),
                        dimnames = list(ids, alleles, mar))
    k <- readBin(path(paste0("kinship_", chr, ".bin")), "double", n = n * n)
    kinship[[chr]] <- matrix(k, n, n, dimnames = list(ids, ids))
}
is_x <- vapply(chrs, function(chr) any(markers$is_x[markers$chr == chr] %in% c(TRUE, "True")),
               logical(1))
attr(apr, "crosstype") <- "do"
attr(apr, "is_x_chr") <- setNames(is_x, chrs)
attr(apr, "alleles") <- alleles
attr(apr, "alleleprobs") <- TRUE
class(apr) <- c("calc_genoprob", "list")

rows <- list()
timed <- function(step, expr) {
    t <- system.time(value <- expr)
    rows[[length(rows) + 1]] <<- data.frame(step = step, traits = ncol(pheno),
                                            seconds = t[["elapsed"]],
                                            cpu_seconds = t[["user.self"]] + t[["sys.self"]])
    value
}
lod_hk <- timed("scan1_hk", scan1(apr, pheno, addcovar = covar, cores = 1))
lod_lmm <- timed("scan1_lmm", scan1(apr, pheno, kinship = kinship, addcovar = covar, cores = 1))
writeBin(as.vector(lod_hk), path("r_lod_hk.bin"))
writeBin(as.vector(lod_lmm), path("r_lod_lmm.bin"))
write.csv(do.call(rbind, rows), path("r_times.csv"), row.names = FALSE)
