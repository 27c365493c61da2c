#!/usr/bin/env Rscript
# Known-answer reference values for the pooled GLMs of libs/domain/glm (@fedlab/glm).
#
# Generates a deterministic synthetic dataset (600 rows, a few with missing covariates), fits R's glm()
# for the gaussian, binomial and poisson families on `~ age + region + smoker`, and writes the data and,
# per family, everything summary.glm() reports to libs/domain/glm/src/fixtures/glm-reference.json, so the
# TypeScript tests need neither R nor Python.
#
# Usage (from the repository root; needs only base R, e.g. `apt-get install -y r-base-core`):
#   Rscript scripts/glm-reference.R
#
# Rerunning it with the same R version rewrites the fixture byte for byte (fixed seed and RNG kinds).
#
# Conventions, matching libs/domain/glm:
# - convergence epsilon 1e-10 (glm.control(epsilon = 1e-10)), the library's default tolerance, so the
#   iteration counts are comparable;
# - smoker is entered as a 0/1 number (coefficient `smoker`), region as a factor with treatment contrasts
#   and reference level North (coefficients `regionSouth`, `regionWest`);
# - rows with a missing covariate are dropped (na.omit, R's default);
# - standard errors and test statistics as summary.glm(); 95 % intervals are Wald intervals:
#   confint.default() for binomial and poisson, estimate +/- qt(0.975, df.residual) * SE for gaussian;
# - summary.glm() takes the covariance from the QR decomposition of the last IRLS iteration, whose weights
#   were computed at the previous iterate; libs/domain/glm takes it at the final estimate. To compare like with
#   like, the coefficient table, deviance and AIC come from a one-step refit started at the converged
#   coefficients (glm(start = coef(fit))), whose weights are those at the final estimate; `iterations` and
#   `converged` come from the original fit. (R's own table differs from it by up to 2e-7 relative in the
#   standard errors, and 5e-6 in the smallest p-values, for these data.)

suppressWarnings(RNGversion("4.0.0"))
set.seed(20240611)

n <- 600
age <- round(runif(n, 18, 80), 1)
region <- sample(c("North", "South", "West"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25))
smoker <- runif(n) < 0.3
south <- as.numeric(region == "South")
west <- as.numeric(region == "West")
s <- as.numeric(smoker)

score <- round(50 + 0.3 * age + 2 * south - 1.5 * west + 4 * s + rnorm(n, 0, 8), 2)
readmitted <- rbinom(n, 1, plogis(-3 + 0.04 * age + 0.5 * south - 0.3 * west + 0.8 * s))
visits <- rpois(n, exp(-0.5 + 0.02 * age + 0.3 * south + 0.1 * west + 0.4 * s))

# A few missing covariate values, so that row dropping (na.omit) is part of the reference.
age[sample(n, 7)] <- NA
region[sample(n, 5)] <- NA

data <- data.frame(
  age = age,
  region = factor(region, levels = c("North", "South", "West")),
  smoker = as.numeric(smoker),
  score = score,
  readmitted = readmitted,
  visits = visits
)

epsilon <- 1e-10
fit_family <- function(response, family, maxit = 25) {
  formula <- as.formula(paste(response, "~ age + region + smoker"))
  suppressWarnings(glm(formula, family = family, data = data,
                       control = glm.control(epsilon = epsilon, maxit = maxit)))
}

describe_fit <- function(original, response) {
  fit <- suppressWarnings(glm(formula(original), family = original$family, data = data,
                              start = coef(original), control = glm.control(epsilon = epsilon)))
  s <- summary(fit)
  table <- coef(s)
  gaussian <- fit$family$family == "gaussian"
  if (gaussian) {
    half <- qt(0.975, fit$df.residual) * table[, 2]
    ci <- cbind(table[, 1] - half, table[, 1] + half)
  } else {
    ci <- confint.default(fit)
  }
  coefficients <- lapply(seq_len(nrow(table)), function(i) list(
    name = rownames(table)[i],
    estimate = table[i, 1],
    stdError = table[i, 2],
    statistic = table[i, 3],
    pValue = table[i, 4],
    ciLower = ci[i, 1],
    ciUpper = ci[i, 2]
  ))
  list(
    response = response,
    family = fit$family$family,
    link = fit$family$link,
    statisticName = if (gaussian) "t" else "z",
    coefficients = coefficients,
    deviance = fit$deviance,
    nullDeviance = fit$null.deviance,
    dfResidual = fit$df.residual,
    dfNull = fit$df.null,
    dispersion = s$dispersion,
    aic = fit$aic,
    iterations = original$iter,
    converged = original$converged,
    rows = length(fit$y)
  )
}

models <- list(
  gaussian = describe_fit(fit_family("score", gaussian()), "score"),
  binomial = describe_fit(fit_family("readmitted", binomial()), "readmitted"),
  poisson = describe_fit(fit_family("visits", poisson()), "visits")
)

# Logistic regression stopped after one IRLS iteration: R reports converged = FALSE, iter = 1 and the
# coefficients and deviance after the first weighted least-squares step.
one_step <- fit_family("readmitted", binomial(), maxit = 1)
binomial_one_iteration <- list(
  names = names(coef(one_step)),
  estimates = unname(coef(one_step)),
  deviance = one_step$deviance,
  iterations = one_step$iter,
  converged = one_step$converged
)

# --- a minimal JSON writer (base R only) ---------------------------------------------------------------
json_number <- function(x, exact) {
  if (is.na(x)) return("null")
  if (exact) return(sprintf("%.17g", x))
  text <- as.character(x)
  if (as.numeric(text) != x) stop("data value does not round-trip through its decimal form")
  text
}
to_json <- function(x, exact = TRUE, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- vapply(names(x), function(k) paste0(inner, '"', k, '": ', to_json(x[[k]], exact, inner)), "")
      return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
    }
    parts <- vapply(x, function(v) paste0(inner, to_json(v, exact, inner)), "")
    return(paste0("[\n", paste(parts, collapse = ",\n"), "\n", indent, "]"))
  }
  scalar <- function(v) {
    if (is.logical(v)) return(if (is.na(v)) "null" else if (v) "true" else "false")
    if (is.character(v) || is.factor(v)) return(if (is.na(v)) "null" else paste0('"', as.character(v), '"'))
    if (is.integer(v)) return(if (is.na(v)) "null" else as.character(v))
    json_number(v, exact)
  }
  values <- vapply(seq_along(x), function(i) scalar(x[i]), "")
  if (length(x) == 1 && is.null(attr(x, "array"))) return(values)
  paste0("[", paste(values, collapse = ", "), "]")
}
as_array <- function(x) structure(x, array = TRUE)

rows <- lapply(seq_len(n), function(i) list(
  age = data$age[i],
  region = data$region[i],
  smoker = if (data$smoker[i] == 1) TRUE else FALSE,
  score = data$score[i],
  readmitted = as.integer(data$readmitted[i]),
  visits = as.integer(data$visits[i])
))
row_json <- vapply(rows, function(r) {
  paste0("[", paste(vapply(r, function(v) to_json(v, exact = FALSE), ""), collapse = ", "), "]")
}, "")

binomial_one_iteration$names <- as_array(binomial_one_iteration$names)
binomial_one_iteration$estimates <- as_array(binomial_one_iteration$estimates)

document <- paste0(
  "{\n",
  '  "generatedBy": "Rscript scripts/glm-reference.R",\n',
  '  "rVersion": "', R.version$major, ".", R.version$minor, '",\n',
  '  "seed": 20240611,\n',
  '  "epsilon": ', sprintf("%.17g", epsilon), ",\n",
  '  "formula": "~ age + region + smoker",\n',
  '  "covariates": [\n',
  '    { "name": "age", "kind": "numeric" },\n',
  '    { "name": "region", "kind": "factor", "levels": ["North", "South", "West"] },\n',
  '    { "name": "smoker", "kind": "numeric" }\n',
  "  ],\n",
  '  "columns": ["age", "region", "smoker", "score", "readmitted", "visits"],\n',
  '  "rows": [\n', paste0("    ", row_json, collapse = ",\n"), "\n  ],\n",
  '  "models": ', to_json(models, exact = TRUE, indent = "  "), ",\n",
  '  "binomialOneIteration": ', to_json(binomial_one_iteration, exact = TRUE, indent = "  "), "\n",
  "}\n"
)

out <- file.path("libs", "glm", "src", "fixtures", "glm-reference.json")
dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
writeLines(document, out, sep = "")
cat("wrote", out, "\n")
