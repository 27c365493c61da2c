# Generates libs/domain/evaluation/src/fixtures/psm-input.csv: a synthetic Justice Data Lab style dataset for the
# propensity matching reference (scripts/psm-reference.R reads it, runs MatchIt and writes the reference).
#
# About 1,200 people released from custody or starting a community order, ~20 % of whom took part in a
# programme. Participation depends on sex, age, region, criminal history, index offence, employment and
# benefits. Columns:
#   id                    a random 6-digit person id (unique; not in data order, so code cannot rely on it)
#   treated               1 = took part in the programme, 0 = did not
#   male, employed, income_support                 booleans as 0/1
#   age_at_index, age_at_first_offence             years, 2 and 1 decimals (continuous: no accidental ties)
#   previous_offences, previous_custody            counts
#   region (5 levels), index_offence (6 levels)    lower-case text, so code-point and locale order agree
#
# No two people share all covariate values (the script checks), so no two propensity scores tie exactly:
# MatchIt's tie-breaking differs between its versions and code paths (see scripts/psm-reference.R), and the
# fixture should not depend on it. propensity-matching.test.ts tests ties on small synthetic data instead.
#
# Usage (from the repository root; base R only): Rscript scripts/psm-fixture-input.R
# Rerunning it rewrites the CSV byte for byte (fixed seed and RNG kinds).

RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(20250314)

n <- 1200
male <- rbinom(n, 1, 0.82)
age_at_index <- round(18 + rgamma(n, shape = 3, scale = 4.5), 2)
age_at_first_offence <- round(pmax(10, pmin(age_at_index - runif(n, 0, 3), 10 + rgamma(n, shape = 2, scale = 4))), 1)
career <- age_at_index - age_at_first_offence
previous_offences <- rnbinom(n, size = 1.2, mu = 1.5 + 0.35 * career)
previous_custody <- rbinom(n, previous_offences, 0.18)
region <- sample(c("london", "midlands", "north", "south", "wales"), n, replace = TRUE,
                 prob = c(0.2, 0.22, 0.28, 0.2, 0.1))
index_offence <- sample(c("burglary", "drugs", "fraud", "robbery", "theft", "violence"), n, replace = TRUE,
                        prob = c(0.14, 0.18, 0.07, 0.06, 0.3, 0.25))
employed <- rbinom(n, 1, plogis(0.2 - 0.12 * previous_offences + 0.3 * male))
income_support <- rbinom(n, 1, plogis(-0.4 - 0.9 * employed + 0.04 * previous_offences))
participation <- -2.8 + 0.4 * male - 0.035 * (age_at_index - 30) + 0.11 * previous_offences -
  0.25 * previous_custody + 0.03 * (age_at_first_offence - 18) + 0.45 * employed + 0.35 * income_support +
  c(london = 0.1, midlands = 0, north = 0.55, south = -0.2, wales = -0.6)[region] +
  c(burglary = 0, drugs = 0.4, fraud = -0.6, robbery = -0.3, theft = 0.45, violence = 0.1)[index_offence]
treated <- rbinom(n, 1, plogis(participation))

people <- data.frame(treated, male, age_at_index, region, previous_offences, previous_custody,
                     age_at_first_offence, index_offence, employed, income_support,
                     stringsAsFactors = FALSE)

stopifnot(!anyDuplicated(people[-1]))
people <- cbind(id = sample(100000:999999, nrow(people)), people)
stopifnot(!anyDuplicated(people$id))

csv <- with(people, paste(
  id, treated, male, sprintf("%.2f", age_at_index), region, previous_offences, previous_custody,
  sprintf("%.1f", age_at_first_offence), index_offence, employed, income_support,
  sep = ","
))
out <- file.path("libs", "evaluation", "src", "fixtures", "psm-input.csv")
dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
writeLines(c(paste(names(people), collapse = ","), csv), out)
cat("wrote", out, ":", nrow(people), "people,", sum(people$treated), "treated\n")
