"""The vocabulary of ``load_errors``: every ``error_kind``, its severity and what it means.

``error`` rows name inputs that were not loaded; ``warning`` rows name inputs that loaded but
need a second look.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ERROR = "error"
WARNING = "warning"

#: error_kind -> (severity, meaning)
KINDS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "not_found": (ERROR, "the path does not exist"),
    "unreadable": (ERROR, "the operating system refused to read it (permissions, broken "
                          "link, encrypted zip member)"),
    "symlink_loop": (ERROR, "a symbolic link back into a folder already walked"),
    "special_file": (ERROR, "a named pipe (FIFO), socket or device, not a regular file: "
                            "never opened"),
    "empty_file": (ERROR, "a zero-length file"),
    "zero_padded": (ERROR, "the data set is followed by zeros, not DICOM elements (a "
                           "zero-padded or damaged file)"),
    "not_dicom": (ERROR, "no DICOM preamble and nothing that looks like a data set"),
    "truncated": (ERROR, "the file ends inside a data element"),
    "corrupt": (ERROR, "pydicom cannot parse it (wrong value lengths, bad structure)"),
    "too_large": (ERROR, "a file or zip member beyond the size limit"),
    "too_deep": (ERROR, "sequences nested beyond the depth limit"),
    "too_many_elements": (ERROR, "more data elements than the limit"),
    "timeout": (ERROR, "reading it took longer than the per-file time limit"),
    "unsafe_member": (ERROR, "a zip member named with an absolute path or '..'"),
    "archive_too_large": (ERROR, "a zip archive with too many members or that expands beyond "
                                 "the limit (zip bomb)"),
    "bad_archive": (ERROR, "a damaged zip archive or member"),
    "apply_failed": (ERROR, "the engine could not apply a profile to this file"),
    "output_refused": (ERROR, "a de-identified copy would overwrite an input or another copy"),
    "no_preamble": (WARNING, "no 128-byte preamble and DICM prefix: read as a bare data set"),
    "dicomdir": (WARNING, "a DICOMDIR media directory, not an image: its records were loaded"),
    "pixel_data": (WARNING, "the pixel data element is shorter than it says"),
    "decoding": (WARNING, "pydicom read it with a warning (character set, value lengths)"),
})


def severity(kind: str) -> str:
    """``error`` or ``warning`` for an error kind."""
    return KINDS[kind][0]
