"""Training runs: validation, readers (CSV, Parquet, frames), the where-language, synthetic runs."""
