# What R/qtl2 0.43-5's read_cross2 reads from every cross in the shared data, summarised so
# that a reader can be checked against it without the full data: per cross and chromosome the
# number of markers, the sum of genotype codes and of missing calls, map sums (cM and Mbp),
# founder-genotype sums; per cross the individuals, sex and cross-information sums and the
# phenotype and covariate columns with their counts of non-missing values.
#
#   cd tests/reference/qtl2 && Rscript read_cross2.R [QTL2_DATA_DIR]
#
# Writes read_cross2_chr.csv and read_cross2_cross.csv (17 significant digits).
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../shared/data/qtl2"
files <- c(DO_Recla="DO_Recla/recla.zip", DO_Gatti2014="DO_Gatti2014/do.zip",
           DOex="DOex/DOex.zip", BXD="BXD/bxd.zip", CC="CC/cc.zip", B6BTBR="B6BTBR/b6btbr.zip",
           Gough="Gough/gough.zip", ArabMAGIC="ArabMAGIC/arabmagic_tair9.zip",
           iron="iron/iron.zip", grav2="grav2/grav2.zip")
num <- function(x) sprintf("%.17g", x)
chr_rows <- list(); cross_rows <- list()
for(nm in names(files)) {
  f <- file.path(data, files[[nm]])
  if(!file.exists(f)) { cat("missing:", f, "\n"); next }
  x <- read_cross2(f, quiet=TRUE)
  for(chr in names(x$geno)) {
    g <- x$geno[[chr]]
    fg <- if(is.null(x$founder_geno)) NA else sum(x$founder_geno[[chr]])
    chr_rows[[length(chr_rows) + 1]] <- data.frame(
      cross=nm, chr=chr, is_x=isTRUE(x$is_x_chr[[chr]]), n_markers=ncol(g),
      geno_sum=sum(g), geno_missing=sum(g == 0), first_marker=colnames(g)[1],
      last_marker=colnames(g)[ncol(g)],
      gmap_sum=if(is.null(x$gmap)) "NA" else num(sum(x$gmap[[chr]])),
      pmap_sum=if(is.null(x$pmap)) "NA" else num(sum(x$pmap[[chr]])),
      founder_geno_sum=fg)
  }
  ci <- x$cross_info
  cross_rows[[length(cross_rows) + 1]] <- data.frame(
    cross=nm, crosstype=x$crosstype, n_ind=n_ind_geno(x),
    first_ind=rownames(x$geno[[1]])[1], n_female=sum(x$is_female),
    cross_info_cols=if(is.null(ci) || ncol(ci) == 0) "" else paste(colnames(ci), collapse="|"),
    cross_info_sum=if(is.null(ci) || ncol(ci) == 0) 0 else sum(ci),
    alleles=paste(x$alleles, collapse="|"),
    pheno_cols=if(is.null(x$pheno)) 0L else ncol(x$pheno),
    pheno_nonmissing=if(is.null(x$pheno)) 0L else sum(!is.na(x$pheno)),
    pheno_sum=if(is.null(x$pheno)) "0" else num(sum(x$pheno, na.rm=TRUE)),
    covar_cols=if(is.null(x$covar)) "" else paste(colnames(x$covar), collapse="|"),
    covar_nonmissing=if(is.null(x$covar)) 0L else sum(!is.na(x$covar)))
}
write.csv(do.call(rbind, chr_rows), "read_cross2_chr.csv", row.names=FALSE)
write.csv(do.call(rbind, cross_rows), "read_cross2_cross.csv", row.names=FALSE)
