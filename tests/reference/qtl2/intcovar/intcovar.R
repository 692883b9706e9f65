# Genome scans with sex as an interactive covariate (QTL x sex), R/qtl2 scan1 on DO_Recla
# chromosome 2 from R/qtl2's own allele probabilities and LOCO kinship in the shared
# reference folder: Haley-Knott and LMM (LOCO), addcovar = intcovar = sex (male = 1),
# Xcovar none (an autosome), three traits.
# Run: R_LIBS=/opt/rlib Rscript intcovar.R   (from this folder; TRANSLOCUS_REF or ../shared/ref)
suppressMessages(library(qtl2))
source(file.path("..", "recla_chr2.R"))  # pheno, sexm, apr (chr 2), km (its LOCO kinship)
traits <- c("OF_immobile_pct", "OF_distance_first4", "HP_latency")
y <- as.matrix(pheno[, traits])
out <- function(x, file)
  write.csv(format(data.frame(marker=rownames(x), unclass(x), check.names=FALSE), digits=17),
            file, row.names=FALSE, quote=FALSE)
out(scan1(apr, y, addcovar=sexm, intcovar=sexm), "lod_hk_intcovar_sex_chr2.csv")
out(scan1(apr, y, kinship=km, addcovar=sexm, intcovar=sexm), "lod_lmm_loco_intcovar_sex_chr2.csv")
cat("qtl2", as.character(packageVersion("qtl2")), "\n")
