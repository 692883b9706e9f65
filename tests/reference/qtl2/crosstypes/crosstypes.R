# R/qtl2 0.43-5 reference outputs for every simulated cross type (written by make_crosses.py)
# and for a subset of the published Arabidopsis MAGIC lines (magic19).
#
#   cd tests/reference/qtl2/crosstypes && Rscript crosstypes.R [QTL2_DATA_DIR [FOLDER ...]]
#
# (FOLDERs: redo only these.) The phase-known types (f2pk, ailpk, ail3pk, dopk, hspk) are
# not read by read_cross2 (their C++ classes say crosstype_supported() is false: R/qtl2 uses
# them inside est_map only), so their folders hold only outputs: the unphased cross of
# PHASE_KNOWN below with its crosstype set to the phase-known type, then the same
# calc_genoprob and scan1 (R/qtl2 leaves their genotype columns unnamed).
#
# Per cross folder: calc_genoprob(error_prob=0.002) on the genetic map, markers only, and
# scan1 Haley-Knott on the genotype probabilities (no covariates). Every number is written
# with 17 significant digits.
#   genoprob_<chr>.csv.gz  ind, marker, then one column per genotype (the first 10
#                          individuals, 5 for hs and do, 3 for hspk and dopk)
#   lod_hk.csv             marker, chr, pos_cM, then one column per phenotype
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"
only <- args[-1]

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.numeric(df[[j]])) df[[j]] <- num(df[[j]])
  con <- if(grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}

probs_table <- function(p, n_ind) {
  p <- p[seq_len(n_ind), , , drop=FALSE]
  if(is.null(dimnames(p)[[2]])) dimnames(p)[[2]] <- seq_len(dim(p)[2])  # by position
  rows <- expand.grid(ind=dimnames(p)[[1]], marker=dimnames(p)[[3]], stringsAsFactors=FALSE)
  values <- do.call(rbind, lapply(dimnames(p)[[3]], function(m) p[, , m, drop=TRUE]))
  data.frame(rows, values, check.names=FALSE)
}

lod_table <- function(lod, map) {
  pos <- unlist(lapply(names(map), function(c) map[[c]]))
  chr <- unlist(lapply(names(map), function(c) rep(c, length(map[[c]]))))
  mk <- unname(unlist(lapply(map, names)))
  stopifnot(identical(mk, rownames(lod)))
  data.frame(marker=mk, chr=chr, pos_cM=pos, as.data.frame(unclass(lod)[, , drop=FALSE]),
             check.names=FALSE)
}

run <- function(x, out, n_ind, phenos=colnames(x$pheno), chr=names(x$gmap)) {
  pr <- calc_genoprob(x, error_prob=0.002, cores=1)
  for(c in chr)
    write_table(probs_table(pr[[c]], n_ind), file.path(out, paste0("genoprob_", c, ".csv.gz")))
  hk <- scan1(pr, x$pheno[, phenos, drop=FALSE], cores=1)
  write_table(lod_table(hk, x$gmap), file.path(out, "lod_hk.csv"))
}

folders <- c("bc", "f2", "risib", "riself", "dh", "haploid", "riself4", "riself8", "riself16",
             "risib4", "risib8", "magic19", "dh6", "genril4",
             "hs", "genail4", "ail", "ail_ab", "dof1", "hsf1", "ail3", "do")
large <- c("hs", "do", "hspk", "dopk")
for(f in folders) {
  if(length(only) && !(f %in% only)) next
  x <- read_cross2(file.path(f, "cross", paste0(f, ".json")), quiet=TRUE)
  run(x, f, n_ind=if(f %in% large) 5 else 10)
  message(f, " done")
}

# phase-known folder = the unphased cross it reads
PHASE_KNOWN <- c(f2pk="f2", ailpk="ail", ailpk_ab="ail_ab", ail3pk="ail3", dopk="do", hspk="hs")
for(f in names(PHASE_KNOWN)) {
  if(length(only) && !(f %in% only)) next
  from <- PHASE_KNOWN[[f]]
  x <- read_cross2(file.path(from, "cross", paste0(from, ".json")), quiet=TRUE)
  x$crosstype <- sub("_ab$", "", f)
  dir.create(f, showWarnings=FALSE)
  suppressWarnings(run(x, f, n_ind=if(f %in% large) 3 else 10))  # no genotype names
  message(f, " done")
}

# published ArabMAGIC: probabilities of 5 lines on chromosome 1, LODs of 3 phenotypes
am <- file.path(data, "ArabMAGIC", "arabmagic_tair9.zip")
if(file.exists(am) && (!length(only) || "arabmagic" %in% only)) {
  dir.create("arabmagic", showWarnings=FALSE)
  x <- read_cross2(am, quiet=TRUE)
  run(x, "arabmagic", n_ind=5, phenos=colnames(x$pheno)[1:3], chr="1")
  message("arabmagic done")
}
