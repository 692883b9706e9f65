# R/qtl2 0.43-5 guess_phase(deterministic=TRUE) on the simulated crosses of make_crosses.py
#
#   cd tests/reference/qtl2/crosstypes && Rscript guess_phase.R
#
# Per cross: calc_genoprob(error_prob=0.002) on the genetic map, maxmarg (minprob 0.95),
# then guess_phase. guess_phase/<cross>.csv.gz: chr, ind, marker, mom, dad (founder allele
# 1, 2, ...; NA where unknown) of the first 10 individuals.
suppressPackageStartupMessages(library(qtl2))

for(f in c("f2", "ail", "ail3", "do", "genail4")) {
  x <- read_cross2(file.path(f, "cross", paste0(f, ".json")), quiet=TRUE)
  x <- x[1:10, ]
  pr <- calc_genoprob(x, error_prob=0.002, cores=1)
  ph <- guess_phase(x, maxmarg(pr, cores=1), deterministic=TRUE)
  out <- do.call(rbind, lapply(names(ph), function(chr) {
    p <- ph[[chr]]
    rows <- expand.grid(ind=dimnames(p)[[1]], marker=dimnames(p)[[2]], stringsAsFactors=FALSE)
    data.frame(chr=chr, rows, mom=as.vector(p[, , 1]), dad=as.vector(p[, , 2]))
  }))
  con <- gzfile(file.path("guess_phase", paste0(f, ".csv.gz")), "w")
  write.csv(out, con, row.names=FALSE, quote=TRUE)
  close(con)
  message(f, " done")
}
