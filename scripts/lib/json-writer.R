# A small JSON writer for the reference scripts (the Debian R here has no jsonlite): named lists become
# objects, unnamed lists arrays, atomic vectors of length 1 scalars unless marked with as_array().
# Numbers print exactly: integers as is, others with %.17g, or with shortest = TRUE the shortest of
# %.15g, %.16g and %.17g that reads back as the same double. Strings escape double quotes.
as_array <- function(x) structure(x, array = TRUE)
json_writer <- function(shortest = FALSE) {
  number <- function(v) {
    if (!shortest) return(sprintf("%.17g", v))
    for (digits in c(15, 16)) {
      text <- sprintf(paste0("%.", digits, "g"), v)
      if (as.numeric(text) == v) return(text)
    }
    sprintf("%.17g", v)
  }
  to_json <- function(x, indent = "") {
    inner <- paste0(indent, "  ")
    if (is.null(x)) return("null")
    if (is.list(x)) {
      if (!is.null(names(x))) {
        keys <- names(x)
        parts <- vapply(seq_along(x), function(i) paste0(inner, '"', keys[i], '": ', to_json(x[[i]], inner)), "")
        return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
      }
      if (length(x) == 0) return("[]")
      parts <- vapply(x, function(v) paste0(inner, to_json(v, inner)), "")
      return(paste0("[\n", paste(parts, collapse = ",\n"), "\n", indent, "]"))
    }
    scalar <- function(v) {
      if (is.na(v)) return("null")
      if (is.logical(v)) return(if (v) "true" else "false")
      if (is.character(v) || is.factor(v)) return(paste0('"', gsub('"', '\\\\"', as.character(v)), '"'))
      if (is.integer(v) || (v == round(v) && abs(v) < 2^53)) return(format(v, scientific = FALSE))
      number(v)
    }
    values <- vapply(seq_along(x), function(i) scalar(x[i]), "")
    if (length(x) == 1 && is.null(attr(x, "array"))) return(values)
    paste0("[", paste(values, collapse = ", "), "]")
  }
  to_json
}
