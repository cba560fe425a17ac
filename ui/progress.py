"""Long work on a page: a progress bar with counts, the rate and the time left, and a Cancel
button.

Cancel works as Streamlit does: a click while the script runs stops it at its next update of
the page (the progress bar's), which stops the worker pool; the rerun that follows sees the
click and forgets the request, so the work does not start again by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from ui.text import md

Progress = Callable[[int, int], None]

#: Rates measured in this session: what -> units per second (for estimates before starting).
RATES = "progress.rates"
#: How often the bar is redrawn at most (every redraw is a message to the browser).
_REDRAW_S = 0.25


def duration(seconds: float) -> str:
    """``under 1 s``, ``42 s``, ``3 min 5 s``, ``1 h 10 min``."""
    whole = round(seconds)
    if seconds < 0.5:
        return "under 1 s"
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def status_text(what: str, done: int, total: int, elapsed: float, unit: str = "files") -> str:
    """``Assessing: 1,234 of 10,000 files · 310 files/s · about 28 s left``."""
    text = f"{what}: {done:,} of {total:,} {unit}"
    if done > 0 and elapsed > 0:
        rate = done / elapsed
        text += f" · {rate:,.0f} {unit}/s"
        if done < total:
            text += f" · about {duration((total - done) / rate)} left"
    return text


def measured_rate(what: str) -> float | None:
    """Units per second of the last ``what`` in this session, if any was measured."""
    rates = st.session_state.get(RATES, {})
    value = rates.get(what)
    return float(value) if value else None


def estimate(what: str, units: int) -> str:
    """``about 3 min`` from the rate measured in this session ('' when none was)."""
    rate = measured_rate(what)
    if not rate:
        return ""
    return f"about {duration(units / rate)}"


def cancelled(key: str) -> bool:
    """Draw the Cancel button of a long work; True when it was just clicked."""
    return bool(st.button("Cancel", key=key, icon="✖️",
                          help="Stop the work; nothing is kept and it will not start again "
                               "until you ask."))


@contextmanager
def long_work(what: str, key: str, *, rate_of: str | None = None,
              scale: int = 1) -> Iterator[Progress]:
    """A progress bar (counts, rate, time left) and a Cancel button while the block runs;
    yields ``progress(done, total)``. ``rate_of`` records the measured rate (units = files
    times ``scale``) for later estimates."""
    box = st.empty()
    with box.container():
        cancelled(key)
        bar = st.progress(0.0, text=md("{what}…", what=what))
    started = time.monotonic()
    last = [0.0]
    done_total = [0, 0]

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        done_total[:] = [done, total]
        if done < total and now - last[0] < _REDRAW_S:
            return
        last[0] = now
        fraction = min(1.0, done / total) if total else 1.0
        bar.progress(fraction, text=md("{text}", text=status_text(what, done, total,
                                                                   now - started)))

    yield update
    elapsed = time.monotonic() - started
    if rate_of and done_total[0] and elapsed > 0:
        rates = dict(st.session_state.get(RATES, {}))
        rates[rate_of] = done_total[0] * scale / elapsed
        st.session_state[RATES] = rates
    box.empty()
