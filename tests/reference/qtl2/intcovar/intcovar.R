# Genome scans with sex as an interactive covariate (QTL x sex), R/qtl2 scan1 on DO_Recla
# chromosome 2 from R/qtl2's own allele probabilities and LOCO kinship in the shared
# reference folder: Haley-Knott and LMM (LOCO), addcovar = intcovar = sex (male = 1),
# Xcovar none (an autosome), three traits.
# Run: R_LIBS=/opt/rlib Rscript intcovar.R   (from this folder; TRANSLOCUS_REF or ../shared/ref)
suppressMessages(library(qtl2))
ref <- Sys.getenv("TRANSLOCUS_REF", file.path("..", "..", "..", "..", "..", "shared", "ref"))
d <- file.path(ref, "qtl2", "DO_Recla")
pheno <- read.csv(file.path(d, "input_pheno.csv"), check.names=FALSE, colClasses=c(id="character"))
rownames(pheno) <- pheno$id
traits <- c("OF_immobile_pct", "OF_distance_first4", "HP_latency")
y <- as.matrix(pheno[, traits])
sex <- read.csv(file.path(d, "covariates_used.csv"), check.names=FALSE, colClasses=c(id="character"))
sexm <- matrix(as.numeric(sex[[2]]), ncol=1, dimnames=list(sex$id, "sex"))
pr <- read.csv(file.path(d, "alleleprob_chr2.csv.gz"), check.names=FALSE,
               colClasses=c(ind="character", marker="character"))
ind <- unique(pr$ind); mar <- unique(pr$marker); alle <- setdiff(names(pr), c("ind", "marker"))
arr <- array(NA_real_, c(length(ind), length(alle), length(mar)), list(ind, alle, mar))
for(a in alle) arr[, a, ] <- matrix(pr[[a]], nrow=length(ind))  # rows ind within marker
apr <- list("2"=arr); attr(apr, "crosstype") <- "do"; attr(apr, "is_x_chr") <- c("2"=FALSE)
attr(apr, "alleles") <- alle; attr(apr, "alleleprobs") <- TRUE; class(apr) <- c("calc_genoprob", "list")
k <- read.csv(file.path(d, "kinship_loco", "chr2.csv.gz"), check.names=FALSE, colClasses=c(id="character"))
km <- as.matrix(k[, -1]); rownames(km) <- k$id; colnames(km) <- k$id
out <- function(x, file)
  write.csv(format(data.frame(marker=rownames(x), unclass(x), check.names=FALSE), digits=17),
            file, row.names=FALSE, quote=FALSE)
out(scan1(apr, y, addcovar=sexm, intcovar=sexm), "lod_hk_intcovar_sex_chr2.csv")
out(scan1(apr, y, kinship=km, addcovar=sexm, intcovar=sexm), "lod_lmm_loco_intcovar_sex_chr2.csv")
cat("qtl2", as.character(packageVersion("qtl2")), "\n")
