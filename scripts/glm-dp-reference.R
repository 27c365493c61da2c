# Reference fits for `npm run bench -- glm-dp` (test/bench/glm-dp.ts): R's glm() on the union of the
# nodes' rows, which the bench writes as little-endian float64, row by row:
# birth_year, amount, regionSouth, regionWest, smoker, y.
# Usage: Rscript scripts/glm-dp-reference.R FILE FAMILY ROWS
# Prints the coefficients (R's order: (Intercept), birth_year, amount, regionSouth, regionWest, smoker)
# as one comma-separated line, with 17 significant digits.
args <- commandArgs(trailingOnly = TRUE)
file <- args[1]
family <- args[2]
rows <- as.integer(args[3])
con <- file(file, "rb")
values <- readBin(con, what = "double", n = rows * 6, size = 8, endian = "little")
close(con)
m <- matrix(values, ncol = 6, byrow = TRUE)
d <- data.frame(birth_year = m[, 1], amount = m[, 2], regionSouth = m[, 3], regionWest = m[, 4], smoker = m[, 5], y = m[, 6])
fit <- glm(y ~ birth_year + amount + regionSouth + regionWest + smoker, data = d, family = family)
cat(paste(formatC(coef(fit), digits = 17, format = "g"), collapse = ","), "\n")
