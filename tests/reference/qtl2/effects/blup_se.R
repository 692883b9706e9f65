# BLUPs of the founder effects with standard errors (R/qtl2 scan1blup, se=TRUE) on DO_Recla
# chromosome 2, without and with the LOCO kinship (scan1blup_pg), for OF_immobile_pct, from
# R/qtl2's own allele probabilities and kinship in the shared reference folder.
# Run: R_LIBS=/opt/rlib Rscript blup_se.R   (from this folder; TRANSLOCUS_REF or ../shared/ref)
suppressMessages(library(qtl2))
source(file.path("..", "recla_chr2.R"))  # pheno, sexm, apr (chr 2), km (its LOCO kinship)
y <- as.matrix(pheno[, "OF_immobile_pct", drop=FALSE])
keep <- seq(1, length(mar), by=10)  # every 10th marker keeps the files small
out <- function(x, file) {
  se <- attr(x, "SE"); df <- data.frame(marker=rownames(x), unclass(x), check.names=FALSE)
  sdf <- as.data.frame(se); names(sdf) <- paste0("SE_", names(sdf))
  write.csv(format(cbind(df, sdf)[keep, ], digits=17), file, row.names=FALSE, quote=FALSE)
}
out(scan1blup(apr, y, se=TRUE), "blup_hk_OF_immobile_pct_chr2.csv")
out(scan1blup(apr, y, kinship=km, se=TRUE), "blup_loco_OF_immobile_pct_chr2.csv")
cat("qtl2", as.character(packageVersion("qtl2")), "\n")
