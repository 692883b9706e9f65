# R/qtl2 0.43-5 reference for the rank rule of the scans: the risib8 panel of make_panel.py,
# in which founder H is lost from every line and founder G nearly lost, with the
# probabilities of chromosome 3 edited as described below. The scans are checked on exactly
# these probabilities (genoprob.csv.gz).
#
#   cd tests/reference/qtl2/rank && Rscript rank.R
#
#   genoprob.csv.gz   ind, marker, then one column per founder (every line and marker)
#   lod_hk.csv        marker, chr, pos_cM, then one column per phenotype (scan1, Haley-Knott)
#   lod_lmm_loco.csv  the same for scan1 with calc_kinship(pr, "loco") (REML)
#   hsq_loco.csv      chr, then one column per phenotype: the heritabilities of that scan
#   coef_hk_3.csv, coef_lmm_3.csv  scan1coef(zerosum=FALSE, se=TRUE) of the first phenotype on
#                     chromosome 3, without and with the LOCO kinship
# Every number is written with 17 significant digits.
suppressPackageStartupMessages(library(qtl2))

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.numeric(df[[j]])) df[[j]] <- num(df[[j]])
  con <- if(grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}

lod_table <- function(lod, map) {
  pos <- unlist(lapply(names(map), function(c) map[[c]]))
  chr <- unlist(lapply(names(map), function(c) rep(c, length(map[[c]]))))
  mk <- unname(unlist(lapply(map, names)))
  stopifnot(identical(mk, rownames(lod)))
  data.frame(marker=mk, chr=chr, pos_cM=pos, as.data.frame(unclass(lod)[, , drop=FALSE]),
             check.names=FALSE)
}

x <- read_cross2(file.path("cross", "rank.json"), quiet=TRUE)
pr <- calc_genoprob(x, error_prob=1e-8, cores=1)
# On chromosome 3, H's probabilities at the first 20 markers are replaced by values between
# 1e-16 and 1e-13 that vary from line to line (a lost founder whose column is no multiple of
# the intercept: below R's 1e-12 relative pivot rule, yet not collinear), and G's at the next
# 20 by values between 1e-16 and 1e-8 (nearly lost: kept by the rule); the largest
# probability of each line takes up the difference so that every line still sums to 1.
set.seed(20261206)
p3 <- pr[["3"]]
for(spec in list(list(g="HH", m=1:20, lo=-16, hi=-13), list(g="GG", m=21:40, lo=-16, hi=-8))) {
  for(m in spec$m) {
    v <- 10^runif(nrow(p3), spec$lo, spec$hi)
    top <- apply(p3[, , m], 1, which.max)
    d <- v - p3[, spec$g, m]
    p3[, spec$g, m] <- v
    p3[cbind(seq_len(nrow(p3)), top, m)] <- p3[cbind(seq_len(nrow(p3)), top, m)] - d
  }
}
pr[["3"]] <- p3
probs <- do.call(rbind, lapply(names(pr), function(c) {
  p <- pr[[c]]
  rows <- expand.grid(ind=dimnames(p)[[1]], marker=dimnames(p)[[3]], stringsAsFactors=FALSE)
  data.frame(rows, do.call(rbind, lapply(dimnames(p)[[3]], function(m) p[, , m, drop=TRUE])),
             check.names=FALSE)
}))
write_table(probs, "genoprob.csv.gz")
hk <- scan1(pr, x$pheno, cores=1)
write_table(lod_table(hk, x$gmap), "lod_hk.csv")
k <- calc_kinship(pr, "loco", cores=1)
lmm <- scan1(pr, x$pheno, k, cores=1)
write_table(lod_table(lmm, x$gmap), "lod_lmm_loco.csv")
hsq <- attr(lmm, "hsq")
write_table(data.frame(chr=rownames(hsq), hsq, check.names=FALSE), "hsq_loco.csv")
# effects on chromosome 3 (first phenotype), Haley-Knott and LMM with its LOCO kinship
co <- scan1coef(pr[, "3"], x$pheno[, 1], se=TRUE, zerosum=FALSE)
write_table(data.frame(marker=rownames(co), unclass(co), check.names=FALSE), "coef_hk_3.csv")
co <- scan1coef(pr[, "3"], x$pheno[, 1], k[["3"]], se=TRUE, zerosum=FALSE)
write_table(data.frame(marker=rownames(co), unclass(co), check.names=FALSE), "coef_lmm_3.csv")
