"""The transformation layer: carry out the resolver's decisions on DICOM data.

:mod:`.semantics` holds every rule that follows the resolver (what happens to an element in
its context); the executors only carry it out: :mod:`.engine` on pydicom data sets,
:mod:`.tree_apply` on the fast reader's element trees. Value transforms are in
:mod:`.dispatch` and :mod:`.values`, text cleaning in :mod:`.clean`, the PS3.15 markers in
:mod:`.markers`.
"""
