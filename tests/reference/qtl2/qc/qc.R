# R/qtl2 0.43-5 reference outputs for genotype QC and reconstruction on the Diversity
# Outbred crosses of the shared data (DO_Recla, DO_Gatti2014).
#
#   cd tests/reference/qtl2/qc && R_LIBS=/opt/rlib Rscript qc.R [QTL2_DATA_DIR] [cross ...]
#
# Settings: calc_genoprob(error_prob=0.002, map_function="c-f") on the genetic map, markers
# only (as `translocus qc`); maxmarg(minprob=0.95); viterbi(error_prob=0.002,
# map_function="c-f") on chromosomes 19 and X (ties, which R breaks at random, under
# set.seed(1) before each);
# count_xo of the maxmarg genotypes; calc_errorlod of the probabilities; compare_geno of the
# observed genotypes; calc_het (autosomes); n_missing; find_dup_markers (exact or not).
# Every number is written with 17 significant digits. Outputs per cross in ./<cross>/:
#   count_xo.csv           ind, then one column per chromosome (maxmarg genotypes)
#   errorlod_count.csv     ind, then per chromosome the number of markers with errorlod > 2
#   errorlod_gt2.csv.gz    ind, chr, marker, errorlod: every value > 2
#   errorlod_19.csv.gz     ind, marker, errorlod: chromosome 19, the first 40 individuals
#   maxmarg_19.csv.gz      ind, then one column per marker of chromosome 19 (NA below minprob)
#   viterbi_19.csv.gz      ind, then one column per marker of chromosome 19
#   viterbi_X.csv.gz       the same for the X chromosome
#   compare_geno_pairs.csv summary(compare_geno, threshold=0.9)
#   compare_geno_40.csv.gz counts of the first 40 individuals (proportion=FALSE): diagonal
#                          typed, upper triangle matches, lower triangle typed in both
#   compare_geno_max.csv   ind, the largest proportion matched with any other individual
#   het_missing_ind.csv    ind, het (calc_het), n_missing, n_typed, percent_missing
#   missing_marker.csv.gz  marker, n_missing, n_typed (markers with any missing genotype)
#   dup_markers.csv.gz     group, marker: each group of markers with identical genotypes
#   dup_markers_inexact.csv.gz  kept, marker: find_dup_markers(exact_only=FALSE)
#   timing.csv             step, seconds
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"
crosses <- if(length(args) > 1) args[-1] else c("DO_Recla", "DO_Gatti2014")
files <- c(DO_Recla="DO_Recla/recla.zip", DO_Gatti2014="DO_Gatti2014/do.zip")

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.double(df[[j]])) df[[j]] <- num(df[[j]])
  con <- if(grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}
by_ind <- function(mat) data.frame(ind=rownames(mat), mat, check.names=FALSE,
                                   stringsAsFactors=FALSE)

for(name in crosses) {
  dir.create(name, showWarnings=FALSE)
  out <- function(file) file.path(name, file)
  times <- c()
  tick <- function(step, expr) {
    t0 <- proc.time()[["elapsed"]]
    value <- force(expr)
    times[[step]] <<- proc.time()[["elapsed"]] - t0
    value
  }
  cross <- read_cross2(file.path(data, files[[name]]), quiet=TRUE)
  pr <- tick("calc_genoprob", calc_genoprob(cross, error_prob=0.002, map_function="c-f",
                                            cores=2))
  m <- tick("maxmarg", maxmarg(pr, minprob=0.95, cores=2))
  nxo <- tick("count_xo", count_xo(m, cores=2))
  write_table(by_ind(nxo), out("count_xo.csv"))
  mm <- m[["19"]]
  mm_df <- by_ind(mm)
  write_table(mm_df, out("maxmarg_19.csv.gz"))
  set.seed(1)
  v <- tick("viterbi_19", viterbi(cross[, "19"], error_prob=0.002, map_function="c-f"))
  write_table(by_ind(v[["19"]]), out("viterbi_19.csv.gz"))
  set.seed(1)
  v <- viterbi(cross[, "X"], error_prob=0.002, map_function="c-f")
  write_table(by_ind(v[["X"]]), out("viterbi_X.csv.gz"))

  e <- tick("calc_errorlod", calc_errorlod(cross, pr, cores=2))
  cnt <- sapply(e, function(a) rowSums(a > 2))
  write_table(by_ind(cnt), out("errorlod_count.csv"))
  big <- do.call("rbind", lapply(names(e), function(chr) {
    w <- which(e[[chr]] > 2, arr.ind=TRUE)
    if(nrow(w) == 0) return(NULL)
    data.frame(ind=rownames(e[[chr]])[w[, 1]], chr=chr, marker=colnames(e[[chr]])[w[, 2]],
               errorlod=e[[chr]][w], stringsAsFactors=FALSE)
  }))
  write_table(big, out("errorlod_gt2.csv.gz"))
  e19 <- e[["19"]][1:40, , drop=FALSE]
  write_table(data.frame(ind=rep(rownames(e19), ncol(e19)),
                         marker=rep(colnames(e19), each=nrow(e19)),
                         errorlod=as.vector(e19), stringsAsFactors=FALSE),
              out("errorlod_19.csv.gz"))

  cg <- tick("compare_geno", compare_geno(cross, cores=2))
  write_table(as.data.frame(summary(cg, threshold=0.9)), out("compare_geno_pairs.csv"))
  counts <- compare_geno(cross[1:40, ], proportion=FALSE)
  write_table(by_ind(unclass(counts)[, , drop=FALSE]), out("compare_geno_40.csv.gz"))
  p <- unclass(cg)
  p[lower.tri(p)] <- t(p)[lower.tri(p)]
  diag(p) <- NA
  write_table(data.frame(ind=rownames(p), max_prop=apply(p, 1, max, na.rm=TRUE),
                         stringsAsFactors=FALSE), out("compare_geno_max.csv"))

  het <- tick("calc_het", calc_het(pr, cores=2))
  nmis <- n_missing(cross, "individual")
  write_table(data.frame(ind=names(het), het=as.double(het),
                         n_missing=as.integer(nmis[names(het)]),
                         n_typed=as.integer(n_typed(cross, "individual")[names(het)]),
                         percent_missing=100 * as.double(n_missing(cross, "individual",
                                                                  "proportion")[names(het)]),
                         stringsAsFactors=FALSE), out("het_missing_ind.csv"))
  mmis <- n_missing(cross, "marker")
  mtyp <- n_typed(cross, "marker")
  keep <- mmis > 0
  write_table(data.frame(marker=names(mmis)[keep], n_missing=as.integer(mmis[keep]),
                         n_typed=as.integer(mtyp[keep]), stringsAsFactors=FALSE),
              out("missing_marker.csv.gz"))

  dup <- tick("find_dup_markers", find_dup_markers(cross))
  groups <- lapply(names(dup), function(k) c(k, dup[[k]]))
  write_table(data.frame(group=rep(seq_along(groups), sapply(groups, length)),
                         marker=unlist(groups), stringsAsFactors=FALSE),
              out("dup_markers.csv.gz"))
  dup <- find_dup_markers(cross, exact_only=FALSE)
  write_table(data.frame(kept=rep(names(dup), sapply(dup, length)), marker=unlist(dup),
                         stringsAsFactors=FALSE), out("dup_markers_inexact.csv.gz"))
  write_table(data.frame(step=names(times), seconds=as.double(unlist(times)),
                         stringsAsFactors=FALSE), out("timing.csv"))
  cat(name, "done:", paste(names(times), round(unlist(times), 1), collapse=", "), "\n")
}
