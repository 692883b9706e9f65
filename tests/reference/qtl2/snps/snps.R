# R/qtl2 0.43-5 reference outputs for SNP association in a QTL interval, on DOex.
#
#   cd tests/reference/qtl2/snps && R_LIBS=/opt/rlib Rscript snps.R [QTL2_DATA_DIR]
#
# DOex (261 DO mice, chromosomes 2, 3, X) with calc_genoprob(error_prob=0.002,
# map_function="c-f") on the genetic map (as `translocus scan`), genoprob_to_alleleprob, and
# calc_kinship(type="loco"). Variants and genes of chr 2, 96.5-98.5 Mbp from R/qtl2's small
# databases (variants/cc_variants_small.sqlite, variants/mouse_genes_small.sqlite), which cover
# chr 2 from 97.0 to 98.0 Mbp (variants) and 96.3 to 98.3 Mbp (genes). Every number is written
# with 17 significant digits. Outputs:
#   snpinfo.csv.gz      index_snps(DOex$pmap, query_variants(2, 96.5, 98.5)): every variant
#                       with its index, interval (0-based) and on_map
#   lod.csv             scan1snps(apr, DOex$pmap, pheno, query_func, chr=2, start=96.5,
#                       end=98.5): one row per distinct SNP (keep_all_snps=FALSE), columns
#                       snp, pos, sdp, then LODs hk (no kinship), loco (kinship LOCO),
#                       loco_sex (LOCO, additive covariate sex), hk_sex (sex)
#   hsq.csv             heritability of the LOCO scans (chr 2 kinship)
#   snpprob_allele.csv.gz  genoprob_to_snpprob(apr, snpinfo) at the first 10 distinct SNPs:
#                       ind, snp, A, B
#   snpprob_geno.csv.gz genoprob_to_snpprob(pr, snpinfo) (36 genotypes) at the same SNPs:
#                       ind, snp, AA, AB, BB
#   snpprob_x.csv.gz    genoprob_to_snpprob(pr, x_snpinfo) (X, 44 genotypes) of snpinfo_x.csv:
#                       ind, snp, AA, AB, BB, AY, BY
#   snpinfo_x.csv       made-up X variants (positions and SDPs) and their index_snps columns
#   top_snps.csv        top_snps(lod loco, snpinfo keep_all_snps=TRUE, drop=1.5)
#   top_snps_used.csv   the same with show_all_snps=FALSE
#   top_snps_drop05.csv top_snps(..., drop=0.5)
#   genes.csv           query_genes(2, 96.5, 98.5)
#   genome_lod.csv      scan1snps(apr, DOex$pmap, pheno, kinship=k, query_func) over the whole
#                       genome (batches of 20 Mbp; the database holds chr 2 and 3 regions):
#                       snp, chr, pos, sdp, index, lod
#   genome_all_index.csv.gz  the same with keep_all_snps=TRUE: chr and index of every variant
#   timing.csv          step, seconds
suppressPackageStartupMessages(library(qtl2))
args <- commandArgs(trailingOnly=TRUE)
data <- if(length(args)) args[1] else "../../../../../shared/data/qtl2"

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
write_table <- function(df, file) {
  for(j in seq_along(df)) if(is.double(df[[j]])) df[[j]] <- num(df[[j]])
  con <- if(grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names=FALSE, quote=TRUE)
  close(con)
}
times <- c()
tick <- function(step, expr) {
  t0 <- proc.time()[["elapsed"]]
  value <- force(expr)
  times[[step]] <<- proc.time()[["elapsed"]] - t0
  value
}
long_probs <- function(p, cols) {
  out <- do.call("rbind", lapply(dimnames(p)[[3]], function(snp)
    data.frame(ind=rownames(p), snp=snp, p[, , snp, drop=TRUE], check.names=FALSE,
               stringsAsFactors=FALSE)))
  colnames(out) <- c("ind", "snp", cols)
  out
}

DOex <- read_cross2(file.path(data, "DOex", "DOex.json"), quiet=TRUE)
pr <- tick("calc_genoprob", calc_genoprob(DOex, error_prob=0.002, map_function="c-f"))
apr <- genoprob_to_alleleprob(pr)
k <- calc_kinship(apr, "loco")
sex <- setNames((DOex$covar$Sex == "male")*1, rownames(DOex$covar))
sex <- cbind(sex=sex)

query_variants <- create_variant_query_func(file.path(data, "variants", "cc_variants_small.sqlite"))
query_genes <- create_gene_query_func(file.path(data, "variants", "mouse_genes_small.sqlite"))

variants <- query_variants(2, 96.5, 98.5)
snpinfo <- index_snps(DOex$pmap, variants)
write_table(snpinfo[, c("snp", "chr", "pos", "sdp", "type", "index", "interval", "on_map")],
            "snpinfo.csv.gz")

pheno <- DOex$pheno
hk <- tick("scan1snps_hk", scan1snps(apr, DOex$pmap, pheno, query_func=query_variants,
                                     chr=2, start=96.5, end=98.5))
loco <- tick("scan1snps_loco", scan1snps(apr, DOex$pmap, pheno, kinship=k,
                                         query_func=query_variants, chr=2, start=96.5, end=98.5))
loco_sex <- scan1snps(apr, DOex$pmap, pheno, kinship=k, addcovar=sex,
                      query_func=query_variants, chr=2, start=96.5, end=98.5)
hk_sex <- scan1snps(apr, DOex$pmap, pheno, addcovar=sex,
                    query_func=query_variants, chr=2, start=96.5, end=98.5)
stopifnot(all(hk$snpinfo$snp == loco$snpinfo$snp), all(rownames(hk$lod) == hk$snpinfo$snp))
write_table(data.frame(snp=hk$snpinfo$snp, pos=hk$snpinfo$pos, sdp=hk$snpinfo$sdp,
                       hk=hk$lod[, 1], loco=loco$lod[, 1], loco_sex=loco_sex$lod[, 1],
                       hk_sex=hk_sex$lod[, 1], stringsAsFactors=FALSE), "lod.csv")
write_table(data.frame(scan=c("loco", "loco_sex"),
                       hsq=c(attr(loco$lod, "hsq")[1, 1], attr(loco_sex$lod, "hsq")[1, 1])),
            "hsq.csv")

used <- snpinfo[snpinfo$snp %in% hk$snpinfo$snp[1:10], ]
sp <- genoprob_to_snpprob(apr, snpinfo)
write_table(long_probs(sp[["2"]][, , hk$snpinfo$snp[1:10], drop=FALSE], c("A", "B")),
            "snpprob_allele.csv.gz")
sg <- genoprob_to_snpprob(pr, snpinfo)
write_table(long_probs(sg[["2"]][, , hk$snpinfo$snp[1:10], drop=FALSE], c("AA", "AB", "BB")),
            "snpprob_geno.csv.gz")

xmap <- DOex$pmap[["X"]]
xpos <- c(xmap[[3]], (xmap[[3]] + xmap[[4]])/2, xmap[[10]] + 0.01, xmap[[10]] + 0.02,
          xmap[[20]], xmap[[length(xmap)]])
x_snpinfo <- data.frame(snp=paste0("xsnp", seq_along(xpos)), chr="X", pos=xpos,
                        sdp=c(1L, 6L, 48L, 48L, 129L, 200L), stringsAsFactors=FALSE)
x_snpinfo <- index_snps(DOex$pmap, x_snpinfo)
write_table(x_snpinfo, "snpinfo_x.csv")
sx <- genoprob_to_snpprob(pr, x_snpinfo)
write_table(long_probs(sx[["X"]], c("AA", "AB", "BB", "AY", "BY")), "snpprob_x.csv.gz")

all_snps <- scan1snps(apr, DOex$pmap, pheno, kinship=k, query_func=query_variants,
                      chr=2, start=96.5, end=98.5, keep_all_snps=TRUE)
cols <- c("snp", "chr", "pos", "sdp", "index", "interval", "on_map", "lod")
write_table(top_snps(all_snps$lod, all_snps$snpinfo)[, cols], "top_snps.csv")
write_table(top_snps(all_snps$lod, all_snps$snpinfo, show_all_snps=FALSE)[, cols],
            "top_snps_used.csv")
write_table(top_snps(all_snps$lod, all_snps$snpinfo, drop=0.5)[, cols], "top_snps_drop05.csv")

genes <- query_genes(2, 96.5, 98.5)
write_table(genes[, c("chr", "type", "start", "stop", "strand", "ID", "Name", "mgi_type")],
            "genes.csv")
genome <- tick("scan1snps_genome", scan1snps(apr, DOex$pmap, pheno, kinship=k,
                                             query_func=query_variants))
write_table(data.frame(genome$snpinfo[, c("snp", "chr", "pos", "sdp", "index")],
                       lod=genome$lod[, 1], stringsAsFactors=FALSE), "genome_lod.csv")
genome_all <- scan1snps(apr, DOex$pmap, pheno, kinship=k, query_func=query_variants,
                        keep_all_snps=TRUE)
write_table(genome_all$snpinfo[, c("chr", "index")], "genome_all_index.csv.gz")
write_table(data.frame(step=names(times), seconds=unname(unlist(times))), "timing.csv")
