"""The outputs: the comparison tables, the per-file effects table, table export (Parquet,
CSV) and the sign-off report."""
