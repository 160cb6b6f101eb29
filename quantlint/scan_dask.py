"""`scan --executor dask | dask://HOST:PORT | tcp://HOST:PORT`: batches as Dask tasks.

The driver lists and batches (quantlint.scan_batches); each batch is one task that runs the
concurrent reader on a worker and returns that batch's rows. At most a few batches per worker
thread are in flight, and each finished batch is collected at once (a result left on a worker
dies with it) and released, so the driver holds nothing that grows with the scan.

Secrets: a task carries its targets (repo, pinned sha, paths, sizes), the lint settings and a
semaphore name; never a token or an environment. Workers read HF_TOKEN / HF_ENDPOINT from
their own environment, as `huggingface_hub` does on every request.

Dask is an optional extra: it is imported only here, and only when an executor names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import re
import uuid
import warnings
from typing import Any, Iterator

from quantlint.scan import ScanError
from quantlint.scan_batches import Batch, BatchSettings, Done, failure_message, run_batch

INSTALL_HINT = "pip install 'quantlint[dask]'"
RETRIES = 2  # a batch whose task fails is run again this many times before it becomes error rows
DEFAULT_MAX_INFLIGHT = 64  # Hub requests at once across the whole cluster
CONNECT_TIMEOUT = "30s"
ADDRESS = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$")


def parse_executor(text: str) -> str:
    """'local', 'dask', or a scheduler address as tcp://HOST:PORT."""
    value = text.strip()
    if value in ("local", "dask"):
        return value
    for prefix in ("dask://", "tcp://"):
        if value.startswith(prefix) and ADDRESS.match(value[len(prefix):]):
            return "tcp://" + value[len(prefix):]
    raise ScanError(f"--executor {text!r}: write local, dask (a cluster on this machine), "
                    "or dask://HOST:PORT (a running Dask scheduler; tcp://HOST:PORT also works)")


def require_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ScanError(f"--executor dask needs Dask distributed, which is not installed: {INSTALL_HINT}") from None
    return distributed


@contextlib.contextmanager
def connect(executor: str) -> Iterator[Any]:
    """A Client: to a LocalCluster on 127.0.0.1 (no dashboard) for 'dask', else to the scheduler."""
    distributed = require_distributed()
    cluster = None
    try:
        if executor == "dask":
            # In-process workers: start-up in about a second, no listening port beyond 127.0.0.1.
            # Their logs would land on our stderr: a failed batch is reported as error rows instead.
            # For more cores, start `dask scheduler` + `dask worker` and use dask://HOST:PORT.
            with warnings.catch_warnings():
                # Without a dashboard the scheduler still serves /health on 127.0.0.1:8787, or on a
                # free port when that is taken (another cluster): that is no news for the user.
                warnings.filterwarnings("ignore", message="Port 8787 is already in use")
                cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                                   host="127.0.0.1", protocol="tcp", scheduler_port=0,
                                                   dashboard_address=None, silence_logs=logging.CRITICAL)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(executor, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise ScanError(f"cannot reach the Dask scheduler at {executor} ({type(exc).__name__}); "
                                "is `dask scheduler` running there?") from None
    except ScanError:
        if cluster is not None:
            cluster.close()
        raise
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- on the worker ----------------------------------------------------------------------------
_SEMAPHORES: dict[str, Any] = {}


def _install_gate(name: str | None, leases: int) -> None:
    """Every ranged GET of this worker process holds a lease of this scan's cluster-wide
    semaphore, or none (--max-inflight 0). Set on every task: a worker outlives a scan."""
    from quantlint.remote import set_request_gate

    if not name:
        set_request_gate(None)
        return
    semaphore = _SEMAPHORES.get(name)
    if semaphore is None:
        from distributed import Semaphore

        _SEMAPHORES.clear()  # an earlier scan's semaphore is closed: drop it
        semaphore = _SEMAPHORES[name] = Semaphore(max_leases=leases, name=name)
    set_request_gate(lambda: semaphore)


def batch_task(payload: bytes, semaphore: str | None, leases: int) -> str:
    """One Dask task: one batch, read with settings.jobs threads on this worker; its rows come
    back as JSON lines (what json-lines prints). In and out are opaque: Dask walks nested
    lists, dicts and dataclasses in a task looking for keys, which cost ~0.5 s for 200 rows."""
    targets, settings = pickle.loads(payload)
    _install_gate(semaphore, leases)
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in run_batch(targets, settings))


# -- on the driver ----------------------------------------------------------------------------
def dask_runner(client: Any, max_inflight: int, retries: int = RETRIES):
    """A scan_batches.Runner that runs each batch as a task on the client's cluster."""

    def run(batches: Iterator[Batch], settings: BatchSettings, done: Done) -> None:
        from distributed import Semaphore, as_completed

        scan = uuid.uuid4().hex[:12]
        name = f"quantlint-hub-{scan}" if max_inflight > 0 else None
        semaphore = Semaphore(max_leases=max_inflight, name=name) if name else None
        window = max(8, 2 * sum(client.nthreads().values()))  # bounded: memory flat in the scan size
        running: dict[str, Batch] = {}
        finished = as_completed()

        def collect(future: Any) -> None:
            batch = running.pop(future.key)
            try:
                rows = [json.loads(line) for line in future.result().splitlines() if line]
            except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - KilledWorker past the
                # retries, an error on the worker, a future cancelled by a lost scheduler connection
                done(batch, None, failure_message(exc))
            else:
                done(batch, rows, None)
            finally:
                future.release()

        try:
            for batch in batches:
                future = submit(client, batch, settings, name, max_inflight, retries, key=f"quantlint-{scan}-{batch.id}")
                running[future.key] = batch
                finished.add(future)
                while finished.count() >= window:
                    collect(next(finished))
            for future in finished:
                collect(future)
        finally:
            if semaphore is not None:
                semaphore.close()

    return run


def submit(client: Any, batch: Batch, settings: BatchSettings, semaphore: str | None, leases: int,
           retries: int, key: str) -> Any:
    """The one place anything is shipped to the cluster (the secrets test watches it)."""
    payload = pickle.dumps((batch.targets, settings), protocol=pickle.HIGHEST_PROTOCOL)
    return client.submit(batch_task, payload, semaphore, leases, key=key, retries=retries)
