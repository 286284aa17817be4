"""Storage: the only package that speaks SQL. Callers use `Store`, `ReadCache` and records."""
