"""One process of ``tests/test_distributed.py``: joins a loopback cluster, bootstraps, writes what it got as JSON.

Usage: ``python tests/distributed_worker.py PORT NUM_PROCESSES PROCESS_ID OUT.json``; NUM_PROCESSES 1 is a plain
single-process run (the reference). The test sets each process's device count with ``XLA_FLAGS``. When this JAX
cannot run CPU collectives, the record holds only ``"unavailable"``: the reason, for the test's skip.
"""

import json
import sys
import time

import jax

port, num_processes, process_id, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def write(record):
    with open(out, "w") as file:
        json.dump(record, file)


if num_processes > 1:
    try:  # before any computation: the CPU devices of different processes talk through gloo
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes,
                                   process_id=process_id, initialization_timeout=60)
        jax.devices()  # the CPU client, with its collectives, is made here
    except Exception as exc:  # noqa: BLE001 (the test decides whether this is a skip or a failure)
        write({"unavailable": f"{type(exc).__name__}: {exc}"})
        sys.exit(3)

import optimal  # noqa: E402

start = time.perf_counter()
runs = optimal.synthetic_runs(n_runs=60, seed=7)
result = optimal.fit(*runs[:3])
boot = optimal.bootstrap(result, n_resamples=64, seed=0, refit=optimal.Refit(chunk_size=8))  # two calls per device over 4 devices
record = {"process_index": jax.process_index(), "process_count": jax.process_count(),
          "devices": jax.device_count(), "local_devices": jax.local_device_count(),
          "thetas": boot.thetas.tolist(), "converged": boot.converged.tolist(),
          "objectives": boot.objectives.tolist(), "iterations": boot.iterations.tolist(),
          "per_device": list(boot.resamples_per_device), "n_retried": boot.n_retried,
          "seconds": time.perf_counter() - start}
if num_processes > 1:
    try:  # processes that disagree (here: on the seed) get an error, not a bootstrap mixed from two
        optimal.bootstrap(result, n_resamples=64, seed=process_id, refit=optimal.Refit(chunk_size=8))
        record["mismatch"] = None
    except optimal.OptimalError as exc:
        record["mismatch"] = str(exc)
write(record)
if num_processes > 1:
    jax.distributed.shutdown()
