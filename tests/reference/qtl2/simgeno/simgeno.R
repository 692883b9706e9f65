# R/qtl2 0.43-5 reference draws of sim_geno: per individual, marker and genotype, how many of
# the draws gave that genotype (genotypes never drawn are left out).
#
#   cd tests/reference/qtl2/simgeno && R_LIBS=/opt/rlib Rscript simgeno.R [QTL2_DATA_DIR]
#
# Settings: sim_geno(error_prob=0.002, map_function="haldane"), markers only, set.seed(20261206).
#   iron_counts.csv.gz   iron (f2) chromosomes 19 and X, all 284 mice, 4000 draws
#   DOex_counts.csv.gz   DOex (do) chromosomes 2 and X, the first 30 mice, 1000 draws
# Columns: chr, ind, marker, genotype (1-based code in R/qtl2's genotype list), count;
# n_draws.csv gives the number of draws of each file.
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"

counts <- function(draws) {
  do.call("rbind", lapply(names(draws), function(chr) {
    d <- draws[[chr]]  # [ind, marker, draw]
    ngen <- max(d)
    do.call("rbind", lapply(seq_len(ngen), function(g) {
      n <- apply(d == g, c(1, 2), sum)
      w <- which(n > 0, arr.ind=TRUE)
      if(nrow(w) == 0) return(NULL)
      data.frame(chr=chr, ind=rownames(d)[w[, 1]], marker=colnames(d)[w[, 2]],
                 genotype=g, count=n[w], stringsAsFactors=FALSE)
    }))
  }))
}
write_gz <- function(df, file) {
  con <- gzfile(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}

set.seed(20261206)
iron <- read_cross2(file.path(data, "iron/iron.zip"), quiet=TRUE)
dr <- sim_geno(iron[, c("19", "X")], n_draws=4000, error_prob=0.002, map_function="haldane")
write_gz(counts(dr), "iron_counts.csv.gz")

set.seed(20261206)
doex <- read_cross2(file.path(data, "DOex/DOex.zip"), quiet=TRUE)
dr <- sim_geno(doex[1:30, c("2", "X")], n_draws=1000, error_prob=0.002, map_function="haldane")
write_gz(counts(dr), "DOex_counts.csv.gz")

write.csv(data.frame(cross=c("iron", "DOex"), n_draws=c(4000, 1000)), "n_draws.csv",
          row.names=FALSE)
