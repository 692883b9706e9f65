# Independent reference of the genotype sex check's inputs on DO_Recla, from R/qtl2 0.43-5's
# reading of the cross: per mouse the recorded sex, the number of typed X markers and the
# share of them heterozygous (code 2), and Y typing where the cross has a Y chromosome.
#
#   cd tests/reference/qtl2/qc && R_LIBS=/opt/rlib Rscript sexcheck.R [QTL2_DATA_DIR]
#
# Output: DO_Recla/sex_x_het.csv  ind, is_female, x_typed, x_het (17 significant digits)
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"
cross <- read_cross2(file.path(data, "DO_Recla/recla.zip"), quiet=TRUE)
g <- cross$geno[["X"]]
typed <- rowSums(g > 0)
het <- rowSums(g == 2) / typed
out <- data.frame(ind=rownames(g), is_female=cross$is_female[rownames(g)], x_typed=typed,
                  x_het=sprintf("%.17g", het), stringsAsFactors=FALSE)
write.csv(out, "DO_Recla/sex_x_het.csv", row.names=FALSE, quote=TRUE)
