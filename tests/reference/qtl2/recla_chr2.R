# R/qtl2's own DO_Recla inputs for chromosome 2, from the shared reference folder
# (TRANSLOCUS_REF, default ../shared/ref beside the repository): phenotypes, sex (male = 1),
# allele probabilities as a calc_genoprob object, and the chromosome's LOCO kinship.
# Sourced by effects/blup_se.R and intcovar/intcovar.R (run from their own folders).
ref <- Sys.getenv("TRANSLOCUS_REF", file.path("..", "..", "..", "..", "..", "shared", "ref"))
d <- file.path(ref, "qtl2", "DO_Recla")
pheno <- read.csv(file.path(d, "input_pheno.csv"), check.names=FALSE, colClasses=c(id="character"))
rownames(pheno) <- pheno$id
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
