"""Time one peer tool reading and de-identifying files with its own defaults.

Run with the peer's own interpreter (``/tmp/deid-bench-peers/<peer>/bin/python``):
``run_peer.py PEER LISTFILE [OUTDIR]`` where LISTFILE names one DICOM file per line. Each file
is read with pydicom and de-identified in memory; with OUTDIR each result is also saved there
(read + anonymize + save). Prints one JSON line:
``{"peer": ..., "files": n, "errors": n, "seconds": t}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections.abc import Callable


def _dicognito(out: str | None = None) -> Callable[[str], None]:
    import os

    import pydicom
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()

    def run(path: str) -> None:
        dataset = pydicom.dcmread(path)
        anonymizer.anonymize(dataset)
        if out is not None:
            dataset.save_as(os.path.join(out, os.path.basename(path)))

    return run


def _dicom_anonymizer(out: str | None = None) -> Callable[[str], None]:
    import pydicom
    from dicomanonymizer.simpledicomanonymizer import anonymize_dataset

    def run(path: str) -> None:
        anonymize_dataset(pydicom.dcmread(path))

    return run


def _pydicom_deid(out: str | None = None) -> Callable[[str], None]:
    from deid.dicom import replace_identifiers
    from deid.logger import bot

    bot.level = 0  # its progress messages would dominate the timing

    def run(path: str) -> None:
        replace_identifiers(dicom_files=[path], save=False)

    return run


PEERS: dict[str, Callable[[str | None], Callable[[str], None]]] = {
    "dicognito": _dicognito,
    "dicom-anonymizer": _dicom_anonymizer,
    "deid": _pydicom_deid,
}


def main() -> None:
    peer, list_file = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else None
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    with open(list_file, encoding="utf-8") as listing:
        paths = [line for line in listing.read().splitlines() if line]
    run = PEERS[peer](out)
    errors = 0
    start = time.perf_counter()
    for path in paths:
        try:
            run(path)
        except Exception:  # noqa: BLE001 - a peer failing on one file is counted, not fatal
            errors += 1
    seconds = time.perf_counter() - start
    sys.stdout.write(json.dumps({"peer": peer, "files": len(paths), "errors": errors,
                                 "seconds": seconds}) + "\n")


if __name__ == "__main__":
    main()
