"""Load DICOM headers at scale: files, folders, zip archives and uploads, in parallel.

``load_headers`` returns the ``headers`` and ``load_errors`` tables as pandas frames;
``write_headers`` streams them to Parquet and CSV. Pixel data is never read, inputs are never
written, and every input that cannot be read becomes one ``load_errors`` row.
"""

from deid.ingest.headers import HeadersResult, load_headers, write_headers
from deid.ingest.kinds import KINDS
from deid.ingest.runner import Progress, default_workers
from deid.ingest.sources import IngestLimits, Source, collect_sources

__all__ = [
    "KINDS",
    "HeadersResult",
    "IngestLimits",
    "Progress",
    "Source",
    "collect_sources",
    "default_workers",
    "load_headers",
    "write_headers",
]
