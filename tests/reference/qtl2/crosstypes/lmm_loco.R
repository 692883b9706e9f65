# R/qtl2 0.43-5 linear mixed model scans with LOCO kinship on simulated crosses of three of
# the newer cross types (written by make_crosses.py); the published ArabMAGIC lines are
# covered by ../published.R.
#
#   cd tests/reference/qtl2/crosstypes && Rscript lmm_loco.R
#
# Settings as ../published.R: calc_genoprob(error_prob=0.002) on the genetic map, markers
# only; allele probabilities for hs; kinship "loco" from the probabilities scanned; scan1
# with Xcovar from get_x_covar() (hs: the X) and no other covariates; REML. Outputs per
# cross folder, every number with 17 significant digits:
#   lod_lmm_loco.csv   marker, chr, pos_cM, then one column per phenotype
#   hsq_lmm_loco.csv   chr, then one column per phenotype
suppressPackageStartupMessages(library(qtl2))

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.numeric(df[[j]])) df[[j]] <- num(df[[j]])
  write.csv(df, file, row.names=FALSE, quote=TRUE)
}

for(f in c("riself8", "magic19", "hs")) {
  x <- read_cross2(file.path(f, "cross", paste0(f, ".json")), quiet=TRUE)
  pr <- calc_genoprob(x, error_prob=0.002, cores=1)
  probs <- if(f == "hs") genoprob_to_alleleprob(pr, cores=1) else pr
  k <- calc_kinship(probs, "loco", cores=1)
  xcovar <- if(any(x$is_x_chr)) get_x_covar(x) else NULL
  lmm <- scan1(probs, x$pheno, k, Xcovar=xcovar, cores=1)
  map <- x$gmap
  mk <- unname(unlist(lapply(map, names)))
  stopifnot(identical(mk, rownames(lmm)))
  out <- data.frame(marker=mk, chr=rep(names(map), sapply(map, length)),
                    pos_cM=unname(unlist(map)), as.data.frame(unclass(lmm)), check.names=FALSE)
  write_table(out, file.path(f, "lod_lmm_loco.csv"))
  hsq <- attr(lmm, "hsq")
  write_table(data.frame(chr=rownames(hsq), hsq, check.names=FALSE),
              file.path(f, "hsq_lmm_loco.csv"))
  message(f, " done")
}
