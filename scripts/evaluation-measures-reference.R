#!/usr/bin/env Rscript
# Known-answer reference values for the four Justice Data Lab measures of libs/domain/evaluation
# (evaluationMeasures in libs/domain/evaluation/src/evaluation-measures.ts).
#
# Writes libs/domain/evaluation/src/fixtures/measures-reference.json: three hand-built evaluations (the person
# rows, so the TypeScript test needs neither R nor a random generator) and, for each of the four measures,
# every released number: both group values, their 95 % intervals and the people behind them, the
# difference treatment - comparison with its 95 % interval, the p-value and the significance call.
#
# The treatment group has weight 1 per person; the comparison group carries matching weights (matching
# with replacement: a comparison person used k times by 1:m matching has weight k / m). With weights w_i,
#   W = sum(w), weighted mean m = sum(w x) / W, Kish effective size n_eff = W^2 / sum(w^2),
#   weighted variance s^2 = sum(w (x - m)^2) / (W - sum(w^2) / W)  (= the sample variance for unit weights),
#   standard error of a mean sqrt(s^2 / n_eff), of a rate sqrt(p (1 - p) / n_eff).
# Rates: Wilson score interval with n_eff; difference with the Wald interval and a two-sample z test, both
# from the unpooled standard error. Means: t interval with n_eff - 1 df; difference with Welch's interval
# and t test, Welch-Satterthwaite df from n_eff. Where the weights are all 1, R's own prop.test and t.test
# give the numbers (and the explicit formulas are checked against them); elsewhere the formulas are written
# out here, independently of the TypeScript.
#
# Usage (from the repository root; base R only): Rscript scripts/evaluation-measures-reference.R
# Rerunning it with the same R version rewrites the fixture byte for byte (fixed seed and RNG kinds).

suppressWarnings(RNGversion("4.0.0"))
set.seed(20250311)

z <- qnorm(0.975)
rules <- list(minCohort = 60, significanceLevel = 0.05, minTreatedReoffenders = 30, minPersons = 10)

# --- a minimal JSON writer (base R only; as in scripts/study-reference.R, numbers in their shortest form) 
source("scripts/lib/json-writer.R")
to_json <- json_writer(shortest = TRUE)
# --- hand-built evaluations ----------------------------------------------------------------------------
# One row per distinct person: reoffences in the one-year follow-up, days to the first (NA without one)
# and whether any of them got a custodial sentence.
people <- function(n, reoffend, extra, custody, days_max = 365) {
  reoffender <- runif(n) < reoffend
  reoffences <- ifelse(reoffender, 1 + rpois(n, extra), 0)
  days <- ifelse(reoffender, sample(1:days_max, n, replace = TRUE), NA)
  custodial <- reoffender & runif(n) < custody
  data.frame(reoffences = reoffences, days = days, custodial = custodial)
}

# Matching with replacement: each of `treated` people takes `ratio` draws from a pool of `pool` candidates;
# a candidate drawn k times has weight k / ratio, and candidates never drawn are not in the group.
matched_comparison <- function(treated, ratio, pool, reoffend, extra, custody, days_max = 365) {
  candidates <- people(pool, reoffend, extra, custody, days_max)
  draws <- tabulate(sample(pool, treated * ratio, replace = TRUE, prob = rexp(pool)), pool)
  used <- draws > 0
  cbind(weight = draws[used] / ratio, candidates[used, ])
}

unit_weights <- function(group) cbind(weight = rep(1, nrow(group)), group)

evaluations <- list(
  list(name = "one-to-one matching with replacement: fewer reoffenders among participants",
       treated = unit_weights(people(150, 0.30, 1.0, 0.25)),
       comparison = matched_comparison(150, 1, 220, 0.46, 1.6, 0.35, 300)),
  list(name = "one-to-three matching with replacement: no clear difference",
       treated = unit_weights(people(90, 0.42, 1.2, 0.30)),
       comparison = matched_comparison(90, 3, 400, 0.45, 1.3, 0.30)),
  list(name = "unit comparison weights: R's prop.test and t.test apply directly",
       treated = unit_weights(people(70, 0.50, 1.5, 0.35)),
       comparison = unit_weights(people(140, 0.40, 1.0, 0.28)))
)

# --- weighted group statistics -------------------------------------------------------------------------
effective_size <- function(w) sum(w)^2 / sum(w^2)
weighted_mean <- function(x, w) sum(w * x) / sum(w)
weighted_variance <- function(x, w) sum(w * (x - weighted_mean(x, w))^2) / (sum(w) - sum(w^2) / sum(w))

wilson <- function(p, n) {
  centre <- p + z^2 / (2 * n)
  half <- z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))
  c(centre - half, centre + half) / (1 + z^2 / n)
}

all_unit <- function(w) all(w == 1)

rate_group <- function(event, w) {
  p <- weighted_mean(event, w)
  n <- effective_size(w)
  ci <- if (all_unit(w)) unname(prop.test(sum(event), length(event), correct = FALSE)$conf.int[1:2]) else wilson(p, n)
  if (all_unit(w)) stopifnot(isTRUE(all.equal(ci, wilson(p, n), tolerance = 1e-12)))
  list(people = n, value = 100 * p, ci = as_array(100 * ci), p = p, n = n)
}

mean_group <- function(x, w, scale) {
  m <- weighted_mean(x, w)
  n <- effective_size(w)
  se <- sqrt(weighted_variance(x, w) / n)
  ci <- if (all_unit(w)) unname(t.test(x)$conf.int[1:2]) else m + c(-1, 1) * qt(0.975, n - 1) * se
  if (all_unit(w)) stopifnot(isTRUE(all.equal(ci, m + c(-1, 1) * qt(0.975, n - 1) * se, tolerance = 1e-12)))
  list(people = n, value = scale * m, ci = as_array(scale * ci), m = m, v = se^2, n = n)
}

rate_difference <- function(a, b, event_a, event_b, unit) {
  d <- a$p - b$p
  se <- sqrt(a$p * (1 - a$p) / a$n + b$p * (1 - b$p) / b$n)
  ci <- d + c(-1, 1) * z * se
  if (unit) {
    # prop.test's two-sample interval (correct = FALSE) is this Wald interval with the unpooled SE.
    test_ci <- unname(prop.test(c(sum(event_a), sum(event_b)), c(length(event_a), length(event_b)), correct = FALSE)$conf.int[1:2])
    stopifnot(isTRUE(all.equal(ci, test_ci, tolerance = 1e-12)))
    ci <- test_ci
  }
  list(estimate = 100 * d, ci = as_array(100 * ci), pValue = 2 * pnorm(-abs(d / se)))
}

mean_difference <- function(a, b, x_a, x_b, unit, scale) {
  d <- a$m - b$m
  se <- sqrt(a$v + b$v)
  df <- (a$v + b$v)^2 / (a$v^2 / (a$n - 1) + b$v^2 / (b$n - 1))
  ci <- d + c(-1, 1) * qt(0.975, df) * se
  p <- 2 * pt(-abs(d / se), df)
  if (unit) {
    welch <- t.test(x_a, x_b, var.equal = FALSE)
    stopifnot(isTRUE(all.equal(c(ci, p, df), c(unname(welch$conf.int[1:2]), welch$p.value, unname(welch$parameter)),
                               tolerance = 1e-12)))
    ci <- unname(welch$conf.int[1:2])
    p <- welch$p.value
  }
  list(estimate = scale * d, ci = as_array(scale * ci), pValue = p)
}

strip <- function(group) group[c("people", "value", "ci")]

describe <- function(evaluation) {
  t <- evaluation$treated
  c <- evaluation$comparison
  unit <- all_unit(c$weight)
  treated_reoffenders <- sum(t$reoffences > 0)
  stopifnot(nrow(t) >= rules$minCohort, treated_reoffenders >= rules$minPersons)
  significant <- function(p) p <= rules$significanceLevel && treated_reoffenders >= rules$minTreatedReoffenders

  measure <- function(name, group_a, group_b, difference) {
    list(name = name, treatment = strip(group_a), comparison = strip(group_b),
         difference = list(estimate = difference$estimate, ci = difference$ci),
         pValue = difference$pValue, significant = significant(difference$pValue))
  }
  rate_measure <- function(name, event_t, event_c) {
    # Every released rate rests on at least minPersons distinct people with and without the event.
    for (event in list(event_t, event_c)) stopifnot(sum(event) >= rules$minPersons, sum(!event) >= rules$minPersons)
    a <- rate_group(event_t, t$weight)
    b <- rate_group(event_c, c$weight)
    measure(name, a, b, rate_difference(a, b, event_t, event_c, unit))
  }
  mean_measure <- function(name, x_t, w_t, x_c, w_c, scale) {
    a <- mean_group(x_t, w_t, scale)
    b <- mean_group(x_c, w_c, scale)
    measure(name, a, b, mean_difference(a, b, x_t, x_c, unit, scale))
  }
  reoffender_t <- t$reoffences > 0
  reoffender_c <- c$reoffences > 0
  stopifnot(sum(reoffender_c) >= rules$minPersons)

  person <- function(row) list(weight = row$weight, reoffences = as.integer(row$reoffences),
                               daysToFirstReoffence = if (is.na(row$days)) NA else as.integer(row$days),
                               custodial = row$custodial)
  rows <- function(group) vapply(seq_len(nrow(group)), function(i) gsub("\n *", " ", to_json(person(group[i, ]))), "")

  list(
    name = evaluation$name,
    treatedRows = rows(t),
    comparisonRows = rows(c),
    expected = list(
      treatedReoffenders = treated_reoffenders,
      comparisonPeople = nrow(c),
      comparisonEffectiveSize = effective_size(c$weight),
      measures = list(
        rate_measure("reoffending_rate", reoffender_t, reoffender_c),
        mean_measure("reoffences_per_100", t$reoffences, t$weight, c$reoffences, c$weight, 100),
        mean_measure("days_to_first_reoffence", t$days[reoffender_t], t$weight[reoffender_t],
                     c$days[reoffender_c], c$weight[reoffender_c], 1),
        rate_measure("custodial_rate", t$custodial, c$custodial)
      )
    )
  )
}

described <- lapply(evaluations, describe)

evaluation_json <- function(d) {
  people_json <- function(rows) paste0("[\n", paste0("        ", rows, collapse = ",\n"), "\n      ]")
  paste0(
    "    {\n",
    '      "name": "', d$name, '",\n',
    '      "expected": ', to_json(d$expected, "      "), ",\n",
    '      "treated": ', people_json(d$treatedRows), ",\n",
    '      "comparison": ', people_json(d$comparisonRows), "\n",
    "    }"
  )
}

document <- paste0(
  "{\n",
  '  "generatedBy": "Rscript scripts/evaluation-measures-reference.R",\n',
  '  "rVersion": "', R.version$major, ".", R.version$minor, '",\n',
  '  "rules": ', to_json(rules, "  "), ",\n",
  '  "evaluations": [\n', paste(vapply(described, evaluation_json, ""), collapse = ",\n"), "\n  ]\n",
  "}\n"
)

out <- file.path("libs", "evaluation", "src", "fixtures", "measures-reference.json")
dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
writeLines(document, out, sep = "")
cat("wrote", out, "\n")
for (d in described) {
  cat(d$name, "\n  treated reoffenders", d$expected$treatedReoffenders, "comparison", d$expected$comparisonPeople,
      "effective", format(d$expected$comparisonEffectiveSize, digits = 5), "\n")
  for (m in d$expected$measures) {
    cat(sprintf("  %-24s %8.3f vs %8.3f  diff %8.3f [%8.3f, %8.3f]  p %.4g  significant %s\n", m$name,
                m$treatment$value, m$comparison$value, m$difference$estimate, m$difference$ci[1], m$difference$ci[2],
                m$pValue, m$significant))
  }
}
