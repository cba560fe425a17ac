"""The words of the trade the dashboard uses, explained once: the Glossary page lists them and
widgets take their help texts from here (:func:`help_text`)."""

from __future__ import annotations

from collections.abc import Mapping

#: Term -> what it means here, in plain words. Sorted as the Glossary page shows them.
TERMS: Mapping[str, str] = {
    "action": "What a profile does to an element: keep, remove (X), empty (Z), dummy (D: a "
              "value of the right type that means nothing), clean (C: keep the value with "
              "identifying content taken out), uid (U: a new UID, the same for the same "
              "original), hash, pseudonym, shift_date, truncate_date or round.",
    "baseline": "The files as they are, before any de-identification: the Residual risk "
                "page counts each risk there too, so that you see what a profile takes away.",
    "consensus": "A profile a committee builds by deciding, tag by tag, what happens, each "
                 "decision with its reason. Where nothing is decided yet, it takes the "
                 "majority of the profiles reconciled (marked provisional).",
    "decision record": "The file decisions.sqlite in the data folder: every decision, "
                       "sign-off and consensus set-up, only ever added to and chained by "
                       "hashes, so that a row changed afterwards shows.",
    "explicit": "The profile names the tag itself (a rule, a PS3.15 option or its standard "
                "table covers it), rather than leaving it to its default for unlisted "
                "elements.",
    "k, k_min": "k-anonymity: patients who share the same values of the quasi-identifiers a "
                "profile leaves form a group. k_min is the size of the smallest group; "
                "records in groups smaller than the threshold k (default 5) can be singled "
                "out.",
    "majority": "The action most of the reconciled profiles take on a tag (a tie goes to the "
                "most protective action).",
    "modify / keep / unspecified": "An action other than keep modifies the value; keep "
                                   "leaves it. Unspecified: the profile does not name the tag, "
                                   "so its default decides (the third state of the "
                                   "comparison).",
    "PS3.15": "Part 15 of the DICOM standard: its Basic Application Level Confidentiality "
              "Profile (Table E.1-1) says what to do with each attribute, and its options "
              "(retain dates, patient characteristics, …) say what may stay.",
    "private tags": "Elements in odd-numbered groups, defined by a vendor (their private "
                    "creator), not by the standard. remove drops them, keep keeps them, safe "
                    "keeps only those PS3.15 Table E.3.10-1 lists as safe.",
    "provisional": "A rule of the consensus profile that takes the majority because the "
                   "committee has not decided that tag yet.",
    "quasi-identifier": "A value that does not name the patient but, with others (age, sex, "
                        "postal code, dates, size, weight), can single them out.",
    "reconstructed": "A profile rebuilt from a project's published description, not the "
                     "project's own script: every rule cites the sentence it follows.",
    "residual risk": "What still could identify a patient after a profile is applied: "
                     "direct identifiers or linkage keys kept, quasi-identifiers, the "
                     "patient's own name or ID in free text, private elements, flags such as "
                     "burned-in text.",
    "secret": "A random value that keys pseudonyms, hashes, new UIDs and date shifts. Set "
              "DEID_SECRET (and DEID_SECRET_<NAME>) to get the same pseudonyms in every "
              "run; without them each session draws its own, and its pseudonyms cannot be "
              "linked to any other run.",
    "sign-off": "A DPO's recorded decision on one version of a profile (pinned by its "
                "sha256): approved, approved with conditions or rejected.",
    "unlisted": "What a profile does to standard elements no rule of it names: keep them, "
                "remove them (an allow-list), or do what its base profile does.",
    "VR": "Value Representation: the DICOM type of an element's value (PN person name, DA "
          "date, LO long string, UI UID, SQ sequence, …). Some actions only make sense for "
          "some VRs.",
}


def help_text(term: str) -> str:
    """A widget's help text for a term (plain text; the Glossary page has them all)."""
    return TERMS[term]
