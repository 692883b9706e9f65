# Reference values for translocus' survival estimators from R's `survival` package.
#
# Run from this folder:  Rscript make_reference.R
# It writes data.csv (a small simulated dataset with tied integer times, strata, clusters,
# late entry and two competing causes) and one CSV of R results per estimator. The tests in
# tests/progression/test_survival_reference.py read data.csv, fit translocus' estimators on
# it and compare them with these CSVs.
suppressPackageStartupMessages(library(survival))

set.seed(20261206)
n <- 150
x1 <- round(rnorm(n), 3)
x2 <- rbinom(n, 1, 0.5)
s <- sample(c("s1", "s2", "s3"), n, replace = TRUE)
g3 <- sample(c("A", "B", "C"), n, replace = TRUE)
cl <- sample(sprintf("c%02d", 1:15), n, replace = TRUE)
frail <- rgamma(15, shape = 2, scale = 0.5)[as.integer(factor(cl))]
life <- ceiling(rweibull(n, 1.4, 12) * exp(-0.4 * x1 - 0.5 * x2) / frail)
cens <- ceiling(runif(n, 2, 30))
t <- pmin(life, cens)
e <- as.integer(life <= cens)
entry <- floor(runif(n, 0, 0.6) * t)
cause_draw <- ifelse(runif(n) < 0.55, "a", "b")
cause <- ifelse(e == 1, cause_draw, "0")
# the same times made distinct (no ties), for the frailty model
t_untied <- round(t + runif(n, -0.45, 0.45), 4)
d <- data.frame(t = t, t_untied = t_untied, e = e, entry = entry, x1 = x1, x2 = x2, s = s,
                g2 = ifelse(x2 == 1, "treated", "control"), g3 = g3, cl = cl, cause = cause)
write.csv(d, "data.csv", row.names = FALSE)

# Kaplan-Meier: Greenwood standard error (R's std.err is that of log S) and log-log band
km <- survfit(Surv(t, e) ~ 1, data = d, conf.type = "log-log")
write.csv(data.frame(time = km$time, n_risk = km$n.risk, n_event = km$n.event,
                     survival = km$surv, se_log = km$std.err,
                     lower = km$lower, upper = km$upper),
          "km.csv", row.names = FALSE)
tab <- summary(km, rmean = 20)$table
write.csv(data.frame(median = tab[["median"]], median_lower = tab[["0.95LCL"]],
                     median_upper = tab[["0.95UCL"]], rmst_tau = 20,
                     rmst = tab[["rmean"]], rmst_se = tab[["se(rmean)"]]),
          "km_summary.csv", row.names = FALSE)

# Kaplan-Meier with late entry (counting-process data)
kml <- survfit(Surv(entry, t, e) ~ 1, data = d, conf.type = "log-log")
write.csv(data.frame(time = kml$time, n_risk = kml$n.risk, n_event = kml$n.event,
                     survival = kml$surv, se_log = kml$std.err),
          "km_entry.csv", row.names = FALSE)

# Nelson-Aalen cumulative hazard
na <- survfit(Surv(t, e) ~ 1, data = d, ctype = 1)
write.csv(data.frame(time = na$time, n_risk = na$n.risk, n_event = na$n.event,
                     cumulative_hazard = na$cumhaz),
          "nelson_aalen.csv", row.names = FALSE)

# log-rank: 2 groups, 3 groups, 2 groups stratified
lr <- function(name, fit) {
  data.frame(test = name, group = sub(".*=", "", names(fit$n)), observed = fit$obs,
             expected = fit$exp, chisq = fit$chisq, df = length(fit$n) - 1)
}
lr_strat <- survdiff(Surv(t, e) ~ g2 + strata(s), data = d)
write.csv(rbind(lr("two", survdiff(Surv(t, e) ~ g2, data = d)),
                lr("three", survdiff(Surv(t, e) ~ g3, data = d)),
                data.frame(test = "two_strata", group = c("control", "treated"),
                           observed = rowSums(lr_strat$obs), expected = rowSums(lr_strat$exp),
                           chisq = lr_strat$chisq, df = 1)),
          "logrank.csv", row.names = FALSE)

# Cox proportional hazards
cox_row <- function(name, fit, robust = FALSE) {
  se <- if (robust) sqrt(diag(fit$var)) else sqrt(diag(fit$naive.var %||% fit$var))
  data.frame(model = name, covariate = names(coef(fit)), coef = unname(coef(fit)),
             se = unname(se), loglik = fit$loglik[2], loglik_null = fit$loglik[1])
}
`%||%` <- function(a, b) if (is.null(a)) b else a
efron <- coxph(Surv(t, e) ~ x1 + x2, data = d, ties = "efron")
breslow <- coxph(Surv(t, e) ~ x1 + x2, data = d, ties = "breslow")
strat <- coxph(Surv(t, e) ~ x1 + x2 + strata(s), data = d, ties = "efron")
robust <- coxph(Surv(t, e) ~ x1 + x2, data = d, ties = "efron", robust = TRUE)
clust <- coxph(Surv(t, e) ~ x1 + x2, data = d, ties = "efron", cluster = cl)
write.csv(rbind(cox_row("efron", efron), cox_row("breslow", breslow),
                cox_row("efron_strata", strat), cox_row("efron_robust", robust, TRUE),
                cox_row("efron_cluster", clust, TRUE)),
          "cox.csv", row.names = FALSE)

# predicted survival of two new animals from the Efron fit
new <- data.frame(x1 = c(0, 1), x2 = c(0, 1))
sf <- survfit(efron, newdata = new)
write.csv(data.frame(time = sf$time, animal0 = sf$surv[, 1], animal1 = sf$surv[, 2]),
          "cox_survival.csv", row.names = FALSE)

# Weibull by maximum likelihood: S(t) = exp(-(t / lambda)^rho), lambda = exp(intercept),
# rho = 1 / scale; standard errors of log lambda and log rho (= -log scale)
wb <- survreg(Surv(t, e) ~ 1, data = d, dist = "weibull")
v <- vcov(wb)
write.csv(data.frame(lambda = exp(unname(coef(wb))), rho = 1 / wb$scale,
                     se_log_lambda = sqrt(v[1, 1]), se_log_rho = sqrt(v[2, 2]),
                     loglik = wb$loglik[2]),
          "weibull.csv", row.names = FALSE)

# Aalen-Johansen cumulative incidence of two competing causes
aj <- survfit(Surv(t, factor(cause, levels = c("0", "a", "b"))) ~ 1, data = d)
states <- aj$states
write.csv(data.frame(time = aj$time, n_risk = aj$n.risk[, 1],
                     cif_a = aj$pstate[, which(states == "a")],
                     cif_b = aj$pstate[, which(states == "b")]),
          "aalen_johansen.csv", row.names = FALSE)

# shared gamma frailty per cluster, theta chosen by the marginal likelihood (method "em"):
# Breslow and Efron ties on the tied times, Efron on the untied ones
frailty_row <- function(name, fit) {
  data.frame(model = name, covariate = c("x1", "x2"), coef = unname(coef(fit)),
             theta = fit$history[[1]]$theta)
}
fr_formula <- ~ x1 + x2 + frailty(cl, distribution = "gamma", method = "em")
write.csv(rbind(
  frailty_row("breslow_tied", coxph(update(fr_formula, Surv(t, e) ~ .), data = d,
                                    ties = "breslow")),
  frailty_row("efron_untied", coxph(update(fr_formula, Surv(t_untied, e) ~ .), data = d,
                                    ties = "efron")),
  frailty_row("efron_tied", coxph(update(fr_formula, Surv(t, e) ~ .), data = d,
                                  ties = "efron"))),
  "frailty.csv", row.names = FALSE)

writeLines(c(R.version.string, paste("survival", packageVersion("survival"))), "versions.txt")
