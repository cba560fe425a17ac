"""The policy layer: what a profile says and how one element's action is decided.

The action vocabulary (:mod:`.actions`), the DICOM dictionary and PS3.15 tables
(:mod:`.dictionary`, :mod:`.standard`), the profile model and its loader, the resolver that
decides an element's action (:mod:`.resolver`), the profile linter, and the exported tables'
schema. Nothing here reads or writes DICOM files.
"""
