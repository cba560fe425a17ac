"""Where a run's batches go: a running Dask scheduler (``--cluster ADDRESS``) or a local cluster
started for the run (``--cluster local[:N]``).

A local cluster binds to 127.0.0.1 only, with N worker processes of one thread each (one per
CPU by default) and no dashboard. Dask itself is imported only when a cluster is asked for.
Before a run on a running scheduler, the scheduler and every worker must import this ``deid``
at this version (:func:`check_environment`): otherwise the run stops with one line saying
which machine lacks it, not a traceback of Dask's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deid.errors import DeidError
from deid.version import __version__

if TYPE_CHECKING:
    from distributed import Client

LOCAL = "local"
#: Dask keeps the last messages of every connection for debugging, ``low-level-log-length``
#: (1,000) of them: the batches' file lists would stay in the scheduler's and the client's
#: memory until then, growing with the number of files. A few are enough.
LOG_SETTING = "distributed.admin.low-level-log-length"
LOG_LENGTH = 10
#: What the scheduler and the workers resolve to prove they import this ``deid``.
VERSION_NAME = "deid.version:__version__"
#: Where the README says how to start them.
HOW_TO_START = ("start `dask scheduler` and `dask worker` from a checkout of the same version "
                "of this repository, with PYTHONPATH set to that folder (README: Beyond one "
                "machine)")
#: Seconds to wait for a scheduler before giving up with a clear error.
CONNECT_TIMEOUT_S = 20


class ClusterError(DeidError):
    """A cluster that cannot be used: a bad ``--cluster`` value or a scheduler out of reach."""


@dataclass(frozen=True)
class ClusterSpec:
    """A scheduler's address, or a local cluster of ``n_workers`` processes."""

    address: str | None = None
    n_workers: int | None = None

    @property
    def local(self) -> bool:
        return self.address is None

    def describe(self) -> str:
        """One phrase for progress lines: ``local cluster of 2 workers`` or the address."""
        if self.local:
            return f"local Dask cluster of {self.workers()} worker processes"
        return f"Dask scheduler {self.address}"

    def workers(self) -> int:
        """Worker processes a local cluster starts."""
        return self.n_workers or os.cpu_count() or 1


def parse_cluster(text: str) -> ClusterSpec:
    """``local``, ``local:4``, ``tcp://10.0.0.5:8786`` (or ``host:port``, ``tls://...``)."""
    value = text.strip()
    if not value:
        raise ClusterError("--cluster needs a scheduler address (tcp://HOST:8786) or local[:N]")
    if value == LOCAL or value.startswith(LOCAL + ":"):
        count = value[len(LOCAL) + 1:]
        if not count:
            return ClusterSpec()
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"--cluster {value}: the number of local workers must be a "
                               "whole number of at least 1, e.g. local:4")
        return ClusterSpec(n_workers=int(count))
    if "://" not in value:
        if ":" not in value:
            raise ClusterError(f"--cluster {value}: give the scheduler's address with its "
                               "port, e.g. tcp://10.0.0.5:8786, or local[:N]")
        value = "tcp://" + value
    return ClusterSpec(address=value)


@contextmanager
def connect(spec: ClusterSpec) -> Iterator[Client]:
    """A Dask client of the scheduler (closed afterwards); a local cluster is started for the
    run and stopped at the end."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:  # pragma: no cover - a runtime dependency
        raise ClusterError("Dask's distributed scheduler is not installed: run make setup "
                           "(requirements.txt pins dask[distributed])") from error
    import dask

    with dask.config.set({LOG_SETTING: LOG_LENGTH}):
        if spec.local:
            with LocalCluster(n_workers=spec.workers(), threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None,
                              silence_logs=40) as cluster, Client(cluster) as client:
                yield client
            return
        yield from _remote(spec)


def _remote(spec: ClusterSpec) -> Iterator[Client]:
    from distributed import Client

    try:
        client = Client(spec.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {spec.address} within "
                           f"{CONNECT_TIMEOUT_S} s ({error}): is `dask scheduler` running "
                           "there, and is its port open to this machine?") from error
    with client:
        check_environment(client, spec.address or "")
        yield client


def check_environment(client: Client, address: str) -> None:
    """Raise :class:`ClusterError` unless the scheduler and every worker import ``deid`` at
    this version (they run this code: another version would compute other tables)."""
    from pkgutil import resolve_name

    found: dict[str, object] = {}
    try:
        found[f"the scheduler {address}"] = client.run_on_scheduler(resolve_name, VERSION_NAME)
    except Exception as error:  # noqa: BLE001 - raised by the scheduler, any kind
        found[f"the scheduler {address}"] = error
    answers = client.run(resolve_name, VERSION_NAME, on_error="return")
    found.update({f"worker {worker}": answer for worker, answer in sorted(answers.items())})
    if len(found) == 1:
        raise ClusterError(f"the Dask scheduler {address} has no worker: start `dask worker "
                           f"{address}` on the machines that read the files")
    for where, answer in found.items():
        if isinstance(answer, BaseException):
            raise ClusterError(f"{where} cannot import deid ({type(answer).__name__}: "
                               f"{answer}): {HOW_TO_START}")
        if answer != __version__:
            raise ClusterError(f"{where} runs deid {answer}, this machine deid {__version__}: "
                               f"{HOW_TO_START}")


def worker_threads(client: Client) -> int:
    """Threads over every worker of the cluster (at least 1)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return max(1, sum(int(worker.get("nthreads", 1)) for worker in workers.values()))
