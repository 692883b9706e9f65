# R/qtl2 0.43-5 reference outputs for the published crosses in the shared data that the
# shared reference folder does not cover: DO_Gatti2014 (do), CC (risib8, phenotypes
# simulated here), Gough (f2), grav2 (riself) and ArabMAGIC (magic19).
#
#   cd tests/reference/qtl2 && Rscript published.R [QTL2_DATA_DIR]
#
# Settings as in the shared reference: calc_genoprob(error_prob=0.002) on the genetic map,
# markers only; kinship from the probabilities scanned ("loco"); scan1 with Xcovar from
# get_x_covar() and no other covariates; REML, tol=1e-12. Every number is written with
# 17 significant digits. Outputs per cross in ./<cross>/:
#   lod_hk.csv.gz, lod_lmm_loco.csv.gz  marker, chr, pos_cM, then one column per phenotype
#                                       (every marker; every 10th of CC's 110,054)
#   hsq_lmm_loco.csv                    chr, then one column per phenotype
#   genoprob_<chr>.csv.gz               ind, marker, genotypes (a subset: see `gp` below)
#   pheno.csv                           the phenotypes scanned (simulated ones for CC)
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../shared/data/qtl2"

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.numeric(df[[j]])) df[[j]] <- num(df[[j]])
  con <- if(grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}

lod_table <- function(lod, map, every=1) {
  pos <- unname(unlist(lapply(names(map), function(c) map[[c]])))
  chr <- unlist(lapply(names(map), function(c) rep(c, length(map[[c]]))))
  mk <- unname(unlist(lapply(map, names)))
  stopifnot(identical(mk, rownames(lod)))
  out <- data.frame(marker=mk, chr=chr, pos_cM=pos, as.data.frame(unclass(lod)[, , drop=FALSE]),
                    check.names=FALSE)
  out[seq(1, nrow(out), by=every), , drop=FALSE]
}

run <- function(name, file, phenos, map_function, alleles, gp, pheno=NULL, lod_every=1) {
  t0 <- proc.time()[["elapsed"]]
  out <- name
  dir.create(out, showWarnings=FALSE)
  x <- read_cross2(file.path(data, file), quiet=TRUE)
  if(!is.null(pheno)) x$pheno <- pheno
  y <- x$pheno[, phenos, drop=FALSE]
  write_table(data.frame(id=rownames(y), y, check.names=FALSE), file.path(out, "pheno.csv"))
  pr <- calc_genoprob(x, error_prob=0.002, map_function=map_function, cores=2)
  probs <- if(alleles) genoprob_to_alleleprob(pr, cores=2) else pr
  k <- calc_kinship(probs, "loco", cores=2)
  xcovar <- if(any(x$is_x_chr)) get_x_covar(x) else NULL
  hk <- scan1(probs, y, Xcovar=xcovar, cores=2)
  lmm <- scan1(probs, y, k, Xcovar=xcovar, cores=2)
  write_table(lod_table(hk, x$gmap, lod_every), file.path(out, "lod_hk.csv.gz"))
  write_table(lod_table(lmm, x$gmap, lod_every), file.path(out, "lod_lmm_loco.csv.gz"))
  hsq <- attr(lmm, "hsq")
  write_table(data.frame(chr=rownames(hsq), hsq, check.names=FALSE), file.path(out, "hsq_lmm_loco.csv"))
  for(chr in names(gp)) {
    p <- pr[[chr]]
    ind <- head(dimnames(p)[[1]], gp[[chr]]$ind)
    mk <- dimnames(p)[[3]][seq(1, dim(p)[3], by=gp[[chr]]$every)]
    rows <- expand.grid(ind=ind, marker=mk, stringsAsFactors=FALSE)
    vals <- t(sapply(seq_len(nrow(rows)), function(i) p[rows$ind[i], , rows$marker[i]]))
    colnames(vals) <- dimnames(p)[[2]]
    write_table(data.frame(rows, vals, check.names=FALSE),
                file.path(out, paste0("genoprob_", chr, ".csv.gz")))
  }
  cat(sprintf("%s: %d individuals, %d markers, %.0f s\n", name, n_ind(x), sum(n_mar(x)),
              proc.time()[["elapsed"]] - t0))
}

run("grav2", "grav2/grav2.zip", 1:4, "haldane", FALSE, list("1"=list(ind=162, every=1)))
run("Gough", "Gough/gough.zip", 1:3, "haldane", FALSE,
    list("1"=list(ind=20, every=5), "X"=list(ind=20, every=5)))
run("ArabMAGIC", "ArabMAGIC/arabmagic_tair9.zip", 1:3, "haldane", TRUE,
    list("1"=list(ind=10, every=5)))

# CC: 69 lines, no phenotypes published with the genotypes. Two simulated traits: one with a
# founder effect at the middle marker of chromosome 4 plus noise, one pure noise.
cc <- read_cross2(file.path(data, "CC/cc.zip"), quiet=TRUE)
set.seed(20261206)
ids <- rownames(cc$geno[[1]])
g4 <- cc$geno[["4"]][, round(ncol(cc$geno[["4"]]) / 2)]
sim <- cbind(qtl=as.numeric(g4 == 3) + rnorm(length(ids)), noise=rnorm(length(ids)))
rownames(sim) <- ids
run("CC", "CC/cc.zip", 1:2, "c-f", TRUE, list("19"=list(ind=10, every=20)), pheno=sim,
    lod_every=10)

run("DO_Gatti2014", "DO_Gatti2014/do.zip", 1:2, "c-f", TRUE,
    list("19"=list(ind=10, every=2), "X"=list(ind=10, every=4)))
