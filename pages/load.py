"""Load: DICOM headers from the bundled sample, a folder, a zip archive or uploaded files;
the load errors; and which profiles are active."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from deid.ingest import KINDS
from ui import profiles, session, state, widgets
from ui.errors import stop_on_deid_error, stop_on_input_error
from ui.navigation import through_app
from ui.progress import long_work
from ui.text import md

through_app()

FLASH = "load.flash"

st.title("Load")
st.write(
    "Load the headers of a sample of DICOM files: the bundled synthetic sample, a folder or a "
    "zip archive on this machine, or files you upload. Only headers are read (never pixel "
    "data), input files are never modified, and nothing leaves this machine. Files that "
    "cannot be read are listed below with the reason; the others load."
)

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon="✔️")


def _load(paths: list[str], uploads: list[tuple[str, bytes]], label: str) -> None:
    with stop_on_input_error("Could not load " + label), long_work(
            "Reading headers", state.LOAD_CANCEL, rate_of="load.files") as progress:
        data = session.load(paths, uploads, label, progress=progress)
    _loaded(data, label)


def _open_dataset(text: str) -> None:
    with stop_on_input_error("Cannot open this scan dataset"):
        path = _checked_folder(text)
        with st.spinner("Reading the dataset's tables…"):
            data = session.open_dataset(str(path))
    _loaded(data, "scan dataset " + str(path))


def _loaded(data: session.Loaded, label: str) -> None:
    st.session_state[FLASH] = md(
        "Loaded {label}: {n:,} of {total:,} files ({elements:,} elements) in {seconds:.1f} s"
        + ("; {errors:,} load errors below." if len(data.load_errors) else "."),
        label=label, n=data.n_loaded, total=data.n_files, elements=len(data.headers),
        seconds=data.seconds, errors=len(data.load_errors))
    st.rerun()


def _checked_folder(text: str) -> Path:
    path = Path(text.strip().strip("'\"")).expanduser()
    if not text.strip():
        raise ValueError("type the path of a folder on this machine")
    if not path.exists():
        raise ValueError(f"{path}: no such folder")
    if not path.is_dir():
        raise ValueError(f"{path}: not a folder (for a zip archive use the Zip archive tab)")
    return path


def _checked_zip(text: str) -> Path:
    path = Path(text.strip().strip("'\"")).expanduser()
    if not text.strip():
        raise ValueError("type the path of a .zip file on this machine")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a zip archive")
    return path


sample_tab, folder_tab, zip_tab, upload_tab, dataset_tab = st.tabs(
    ["Bundled sample", "Folder", "Zip archive", "Upload files", "Scan dataset"]
)
with sample_tab:
    st.write(
        "Synthetic headers made by `tools/make_sample.py`: 19 files with planted identifiers "
        "(nested, private, free text, several character sets) and a cohort of 300 "
        "header-only files for k-anonymity. See `data/sample/README.md`."
    )
    if st.button("Load the bundled sample", key=state.LOAD_SAMPLE_BUTTON, type="primary"):
        _load(session.sample_paths(), [], "bundled sample (data/sample/)")
with folder_tab:
    folder = st.text_input("Folder on this machine (read recursively)", key=state.LOAD_FOLDER,
                           placeholder="/data/site_sample")
    if st.button("Load the folder", key=state.LOAD_FOLDER_BUTTON):
        with stop_on_input_error("Cannot load this folder"):
            path = _checked_folder(folder)
        _load([str(path)], [], "folder " + str(path))
with zip_tab:
    archive = st.text_input("Zip archive on this machine (members are streamed, never "
                            "extracted)",
                            key=state.LOAD_ZIP, placeholder="/data/site_sample.zip")
    if st.button("Load the archive", key=state.LOAD_ZIP_BUTTON):
        with stop_on_input_error("Cannot load this archive"):
            path = _checked_zip(archive)
        _load([str(path)], [], "archive " + path.name)
with upload_tab:
    files = st.file_uploader(
        "DICOM files or zip archives (any file name: files without a DICOM preamble are "
        "tried too)", accept_multiple_files=True, key=state.LOAD_UPLOADS,
    )
    st.caption("Uploads go to this dashboard's server on this machine, nowhere else.")
    if st.button("Load the uploaded files", key=state.LOAD_UPLOADS_BUTTON,
                 disabled=not files):
        uploads = [(f.name, f.getvalue()) for f in files or []]
        _load([], uploads, str(len(uploads)) + (" uploaded files" if len(uploads) != 1
                                                else " uploaded file"))

with dataset_tab:
    st.write(
        "The tables a `python -m deid scan`, `report`, `risk` or `apply` run wrote into a "
        "folder, with or without `--cluster` (one folder per table, or `headers.parquet`): "
        "the headers are read from them, never from the DICOM files, and the effects and "
        "risk tables are used when the folder has them.")
    dataset = st.text_input("Folder of a scan dataset on this machine", key=state.LOAD_DATASET,
                            placeholder="/data/scans/site_a")
    st.code("python -m deid report /data/site_a --out /data/scans/site_a "
            "--include-values --cluster local", language="bash")
    if st.button("Open the dataset", key=state.LOAD_DATASET_BUTTON):
        _open_dataset(dataset)

st.subheader("Active profiles")
st.write("The profiles the other pages apply and compare. Upload your own on **Profiles**.")
with stop_on_deid_error("Could not list the profiles"):
    available = profiles.available_ids()
current = [pid for pid in profiles.active_ids() if pid in available]
if st.session_state.get(state.ACTIVE_PROFILES) != current:
    st.session_state[state.ACTIVE_PROFILES] = current
st.multiselect("Profiles", available, key=state.ACTIVE_PROFILES, format_func=profiles.label,
               persist_state="session", label_visibility="collapsed")

data = session.loaded()
st.subheader("Loaded")
if data is None:
    st.info("Nothing is loaded: choose a source above.", icon="⬆️")
    st.stop()

columns = st.columns(4)
columns[0].metric("Files read", format(data.n_loaded, ","),
                  help=md("of {n:,} inputs", n=data.n_files))
columns[1].metric("Elements", format(len(data.headers), ","))
columns[2].metric("Load errors", format(len(data.load_errors), ","))
columns[3].metric("Seconds", format(data.seconds, ".1f"))
st.caption(md("Source: {label}", label=data.inputs.label))
if data.from_dataset:
    kept = sorted(data.inputs.tables)
    st.caption(md("Read from the dataset's tables: headers, load_errors{more}. No DICOM file "
                  "is read: pages that need one say what to run.",
                  more="".join(", " + name for name in kept)))
    if data.inputs.dataset_profiles:
        st.caption(md("Its effects and risk tables were made with: {ids}.",
                      ids=", ".join(pid for pid, _ in data.inputs.dataset_profiles)))
if st.button("Clear", key=state.LOAD_CLEAR_BUTTON):
    session.clear()
    st.rerun()

st.subheader("Load errors")
if data.load_errors.empty:
    st.write("Every input was read.")
else:
    errors = data.load_errors.copy()
    errors["meaning"] = [KINDS.get(str(kind), ("", ""))[1] for kind in errors["error_kind"]]
    widgets.table(errors, state.LOAD_ERRORS_TABLE)

if not data.headers.empty:
    st.subheader("Files")
    per_file = (data.headers.groupby("file", observed=True, sort=False)
                .agg(elements=("tag", "size"), private=("is_private", "sum"),
                     deepest=("depth", "max"))
                .reset_index())
    per_file["file"] = per_file["file"].astype(str)
    widgets.table(pd.DataFrame(per_file), state.LOAD_FILES_TABLE)
