"""RSNA CTP DicomAnonymizer scripts in and out: import a script as a profile, export a profile.

:func:`import_ctp_script` maps every element script to the nearest canonical action (the CTP
function language table is :data:`deid.ctp.functions.FUNCTIONS`); :func:`export_ctp_script`
writes a profile's whole effective chain as a script that imports back to the same actions,
from the script alone except where CTP cannot say them (:mod:`deid.ctp.fidelity`). A
``<!--deid {...}-->`` comment is trusted only where it agrees with its element's script
(:mod:`deid.ctp.annotation`).
"""

from deid.ctp.exporter import export_ctp_script
from deid.ctp.importer import CtpImport, import_ctp_script
from deid.ctp.script import CtpScriptError

__all__ = ["CtpImport", "CtpScriptError", "export_ctp_script", "import_ctp_script"]
