"""The tool's version, one constant (written into Parquet metadata and reports)."""

__version__ = "0.2.0"
