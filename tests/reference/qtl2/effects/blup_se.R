# BLUPs of the founder effects with standard errors (R/qtl2 scan1blup, se=TRUE) on DO_Recla
# chromosome 2, without and with the LOCO kinship (scan1blup_pg), for OF_immobile_pct, from
# R/qtl2's own allele probabilities and kinship in the shared reference folder.
# Run: R_LIBS=/opt/rlib Rscript blup_se.R   (from this folder; TRANSLOCUS_REF or ../shared/ref)
suppressMessages(library(qtl2))
ref <- Sys.getenv("TRANSLOCUS_REF", file.path("..", "..", "..", "..", "..", "shared", "ref"))
d <- file.path(ref, "qtl2", "DO_Recla")
pheno <- read.csv(file.path(d, "input_pheno.csv"), check.names=FALSE, colClasses=c(id="character"))
rownames(pheno) <- pheno$id
y <- as.matrix(pheno[, "OF_immobile_pct", drop=FALSE])
pr <- read.csv(file.path(d, "alleleprob_chr2.csv.gz"), check.names=FALSE,
               colClasses=c(ind="character", marker="character"))
ind <- unique(pr$ind); mar <- unique(pr$marker); alle <- setdiff(names(pr), c("ind", "marker"))
arr <- array(NA_real_, c(length(ind), length(alle), length(mar)), list(ind, alle, mar))
for(a in alle) arr[, a, ] <- matrix(pr[[a]], nrow=length(ind))  # rows ind within marker
apr <- list("2"=arr); attr(apr, "crosstype") <- "do"; attr(apr, "is_x_chr") <- c("2"=FALSE)
attr(apr, "alleles") <- alle; attr(apr, "alleleprobs") <- TRUE; class(apr) <- c("calc_genoprob", "list")
k <- read.csv(file.path(d, "kinship_loco", "chr2.csv.gz"), check.names=FALSE, colClasses=c(id="character"))
km <- as.matrix(k[, -1]); rownames(km) <- k$id; colnames(km) <- k$id
keep <- seq(1, length(mar), by=10)  # every 10th marker keeps the files small
out <- function(x, file) {
  se <- attr(x, "SE"); df <- data.frame(marker=rownames(x), unclass(x), check.names=FALSE)
  sdf <- as.data.frame(se); names(sdf) <- paste0("SE_", names(sdf))
  write.csv(format(cbind(df, sdf)[keep, ], digits=17), file, row.names=FALSE, quote=FALSE)
}
out(scan1blup(apr, y, se=TRUE), "blup_hk_OF_immobile_pct_chr2.csv")
out(scan1blup(apr, y, kinship=km, se=TRUE), "blup_loco_OF_immobile_pct_chr2.csv")
cat("qtl2", as.character(packageVersion("qtl2")), "\n")
