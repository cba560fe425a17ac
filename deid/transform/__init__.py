"""The transformation layer: carry out the resolver's decisions on DICOM data.

:mod:`.semantics` holds every rule that follows the resolver (what happens to an element in its
context); :mod:`.plan` applies them to a file's element tree once, giving each element's
:class:`~.outcome.Outcome`; the executors only carry the plan out: :mod:`.engine` writes a pydicom
data set, :mod:`deid.outputs.effects` lists the outcomes, the risk model reads them. Value
transforms are in :mod:`.dispatch` and :mod:`.values`, text cleaning in :mod:`.clean`, the
PS3.15 markers (derived from what was done) in :mod:`.markers`.
"""
