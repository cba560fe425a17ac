"""Scans, effects, risk and audits on a Dask cluster (``--cluster ADDRESS|local[:N]``).

Work is split into batches of files; each batch is a task run by a worker next to the data,
which writes its rows as a part of a partitioned Parquet dataset (:mod:`.dataset`) and sends
back only counts, problem rows (no values unless asked for) and, for k-anonymity, class counts
merged on the workers. Without ``--cluster`` the local worker pool
(:mod:`deid.ingest.runner`) runs the same jobs.
"""
