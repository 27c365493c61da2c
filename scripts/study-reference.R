#!/usr/bin/env Rscript
# Known-answer reference values for the cohort-outcome study statistics of libs/domain/study (@fedlab/study).
#
# Writes libs/domain/study/src/fixtures/study-reference.json, so that the TypeScript tests need neither R nor
# Python. Three parts:
#
# - binary: for cohort/comparison event counts (small counts, zero counts, all events, unequal group
#   sizes), the Wilson score interval of each rate (prop.test(x, n, correct = FALSE)$conf.int), the
#   two-sample prop.test(correct = FALSE) chi-square statistic, p-value and difference interval (the Wald
#   interval with the unpooled standard error), and the Katz log interval of the risk ratio by its formula;
# - mean: for data vectors (integers, so Σx and Σx² are exact), n, Σx, Σx², the one-sample t interval of
#   each group (t.test(x)$conf.int; null where R refuses constant data), Welch's t.test(x, y) statistic, df,
#   p-value and interval, and the delta-method log-scale interval of the ratio of means by its formula;
# - propensity: a seeded dataset of cases and candidates, R's glm(binomial) propensity model fitted on the
#   complete rows, the SD of the linear predictor, the caliper 0.2 SD, and the matched sets of a direct
#   O(n·m) implementation of greedy nearest-neighbour matching on the logit without replacement (2 controls
#   per case, in rounds, cases in descending propensity order, a control within the caliper or none).
#
# Usage (from the repository root; base R only): Rscript scripts/study-reference.R
# Rerunning it with the same R version rewrites the fixture byte for byte (fixed seed and RNG kinds).

suppressWarnings(RNGversion("4.0.0"))
set.seed(20240917)

z <- qnorm(0.975)

# --- a minimal JSON writer (base R only) ---------------------------------------------------------------
source("scripts/lib/json-writer.R")
to_json <- json_writer(shortest = FALSE)
# --- binary measures -----------------------------------------------------------------------------------
binary_cases <- list(
  list(name = "unequal groups", cohort = c(45, 120), comparison = c(60, 360)),
  list(name = "small counts", cohort = c(3, 25), comparison = c(1, 40)),
  list(name = "no cohort events", cohort = c(0, 30), comparison = c(5, 50)),
  list(name = "large and close", cohort = c(250, 1000), comparison = c(240, 1000)),
  list(name = "all cohort events", cohort = c(12, 12), comparison = c(8, 20)),
  list(name = "typical study", cohort = c(17, 59), comparison = c(130, 602))
)

wilson <- function(x, n) unname(suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int[1:2])

describe_binary <- function(case) {
  x <- c(case$cohort[1], case$comparison[1])
  n <- c(case$cohort[2], case$comparison[2])
  test <- suppressWarnings(prop.test(x, n, correct = FALSE))
  p <- x / n
  risk_ratio <- NULL
  if (all(x > 0)) {
    rr <- p[1] / p[2]
    se <- sqrt(1 / x[1] - 1 / n[1] + 1 / x[2] - 1 / n[2])
    risk_ratio <- list(estimate = rr, ci = as_array(exp(log(rr) + c(-1, 1) * z * se)))
  }
  list(
    name = case$name,
    cohort = list(events = as.integer(x[1]), persons = as.integer(n[1]), rate = p[1],
                  ci = as_array(wilson(x[1], n[1]))),
    comparison = list(events = as.integer(x[2]), persons = as.integer(n[2]), rate = p[2],
                      ci = as_array(wilson(x[2], n[2]))),
    difference = list(estimate = p[1] - p[2], ci = as_array(unname(test$conf.int[1:2]))),
    riskRatio = risk_ratio,
    chiSquare = unname(test$statistic),
    pValue = test$p.value
  )
}

# --- mean measures -------------------------------------------------------------------------------------
mean_cases <- list(
  list(name = "counts, unequal groups", x = rpois(50, 2.4), y = rpois(150, 1.7)),
  list(name = "tiny groups", x = c(2, 7, 3), y = c(1, 0, 4, 2)),
  list(name = "bounded days", x = sample(0:365, 200, replace = TRUE), y = sample(0:300, 80, replace = TRUE)),
  list(name = "constant comparison", x = rpois(30, 3), y = rep(2, 25)),
  list(name = "negative mean", x = sample(-5:4, 40, replace = TRUE), y = sample(-3:6, 35, replace = TRUE)),
  list(name = "large groups", x = sample(0:10, 5000, replace = TRUE), y = sample(0:9, 4000, replace = TRUE))
)

one_sample_ci <- function(v) {
  result <- tryCatch(t.test(v)$conf.int, error = function(e) NULL)
  if (is.null(result)) NULL else as_array(unname(result[1:2]))
}

describe_mean <- function(case) {
  x <- case$x
  y <- case$y
  welch <- t.test(x, y, var.equal = FALSE)
  ratio <- NULL
  if (mean(x) > 0 && mean(y) > 0) {
    r <- mean(x) / mean(y)
    se <- sqrt(var(x) / (length(x) * mean(x)^2) + var(y) / (length(y) * mean(y)^2))
    ratio <- list(estimate = r, ci = as_array(exp(log(r) + c(-1, 1) * z * se)))
  }
  group <- function(v) list(persons = length(v), sum = sum(v), sumSquares = sum(v^2),
                            mean = mean(v), sd = sd(v), ci = one_sample_ci(v))
  list(
    name = case$name,
    cohort = group(x),
    comparison = group(y),
    difference = list(estimate = mean(x) - mean(y), ci = as_array(unname(welch$conf.int[1:2]))),
    ratio = ratio,
    tStatistic = unname(welch$statistic),
    df = unname(welch$parameter),
    pValue = welch$p.value
  )
}

# --- propensity score matching -------------------------------------------------------------------------
units <- 240
age <- round(runif(units, 0, 18), 2)
sex <- sample(c("F", "M"), units, replace = TRUE)
region <- sample(c("East", "North", "West"), units, replace = TRUE, prob = c(0.3, 0.45, 0.25))
flag <- runif(units) < 0.3
treat <- rbinom(units, 1, plogis(-5.5 + 0.3 * age + 0.4 * (sex == "M") - 0.5 * (region == "West") + 0.9 * flag))
age[sample(units, 4)] <- NA
age[which(treat == 1)[1]] <- NA # a case that cannot be matched: a covariate is missing
region[sample(units, 3)] <- NA
data <- data.frame(id = seq_len(units), treat = treat, age = age,
                   sex = factor(sex, levels = c("F", "M")),
                   region = factor(region, levels = c("East", "North", "West")),
                   flag = as.numeric(flag))

model <- glm(treat ~ age + sex + region + flag, family = binomial(), data = data,
             control = glm.control(epsilon = 1e-10))
complete <- complete.cases(data[, c("age", "sex", "region", "flag")])
logit <- rep(NA_real_, units)
logit[complete] <- predict(model, newdata = data[complete, ], type = "link")
logit_sd <- sd(logit[complete])
caliper_sd <- 0.2
caliper <- caliper_sd * logit_sd
controls_per_case <- 2

case_rows <- which(data$treat == 1 & complete)
case_rows <- case_rows[order(logit[case_rows], decreasing = TRUE)]
available <- data$treat == 0 & complete
matched <- setNames(vector("list", length(case_rows)), data$id[case_rows])
for (round in seq_len(controls_per_case)) {
  for (i in seq_along(case_rows)) {
    if (length(matched[[i]]) < round - 1) next
    pool <- which(available)
    if (length(pool) == 0) next
    distance <- abs(logit[pool] - logit[case_rows[i]])
    best <- pool[which.min(distance)]
    if (min(distance) <= caliper) {
      matched[[i]] <- c(matched[[i]], data$id[best])
      available[best] <- FALSE
    }
  }
}
count_with <- function(k) sum(vapply(matched, length, 0L) == k)
cases_all <- data$id[data$treat == 1]
propensity <- list(
  covariates = as_array(c("age", "sex", "region", "flag")),
  controlsPerCase = controls_per_case,
  caliperSd = caliper_sd,
  coefficients = lapply(seq_along(coef(model)), function(j) list(name = names(coef(model))[j],
                                                                 estimate = unname(coef(model)[j]))),
  logitSd = logit_sd,
  caliper = caliper,
  matches = lapply(seq_along(case_rows), function(i) list(caseId = data$id[case_rows[i]],
                                                          controlIds = as_array(as.integer(matched[[i]])))),
  casesMatched = count_with(controls_per_case),
  casesPartlyMatched = sum(vapply(matched, function(m) length(m) > 0 && length(m) < controls_per_case, TRUE)),
  casesUnmatched = length(cases_all) - length(case_rows) + count_with(0)
)

unit_json <- vapply(seq_len(units), function(i) {
  to_json(list(id = data$id[i], treat = data$treat[i], age = data$age[i], sex = data$sex[i],
               region = data$region[i], flag = if (data$flag[i] == 1) TRUE else FALSE), "    ")
}, "")
unit_json <- gsub("\n *", " ", unit_json)

document <- paste0(
  "{\n",
  '  "generatedBy": "Rscript scripts/study-reference.R",\n',
  '  "rVersion": "', R.version$major, ".", R.version$minor, '",\n',
  '  "binary": ', to_json(lapply(binary_cases, describe_binary), "  "), ",\n",
  '  "mean": ', to_json(lapply(mean_cases, describe_mean), "  "), ",\n",
  '  "propensity": ', sub("\n *}$", "", to_json(propensity, "  ")), ",\n",
  '    "units": [\n', paste0("      ", unit_json, collapse = ",\n"), "\n    ]\n  }\n",
  "}\n"
)

out <- file.path("libs", "study", "src", "fixtures", "study-reference.json")
dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
writeLines(document, out, sep = "")
cat("wrote", out, "\n")
cat("propensity: matched", propensity$casesMatched, "partly", propensity$casesPartlyMatched,
    "unmatched", propensity$casesUnmatched, "of", length(cases_all), "cases\n")
