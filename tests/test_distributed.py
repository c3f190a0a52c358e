"""One bootstrap split over two processes (``jax.distributed`` on a loopback coordinator, CPU collectives by gloo,
two host devices each) gives every process all the draws, the same as one process alone."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")
TIMEOUT = 120  # seconds for every process; a hang (a process waiting on a collective) fails the test


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tmp_path, name, port, num_processes, process_id, devices):
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu",  # the suite's XLA flags kept (tests/conftest.py)
               PYTHONPATH=os.pathsep.join(filter(None, [str(WORKER.parent.parent), os.environ.get("PYTHONPATH")])))
    out, log = tmp_path / f"{name}.json", open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen([sys.executable, str(WORKER), str(port), str(num_processes), str(process_id), str(out)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, out, tmp_path / f"{name}.log"


def finish(started):
    """Wait for every process (killing all on a timeout); returns each one's record, or skips when gloo is missing."""
    try:
        for proc, _, _ in started:
            proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        for proc, _, _ in started:
            proc.kill()
        logs = "\n".join(log.read_text()[-2000:] for _, _, log in started)
        pytest.fail(f"a process did not finish within {TIMEOUT} s:\n{logs}")
    records = []
    for proc, out, log in started:
        record = json.loads(out.read_text()) if out.exists() else {}
        reason = record.get("unavailable", "")
        if reason and ("gloo" in reason.lower() or "collective" in reason.lower()):
            pytest.skip(f"this JAX cannot run CPU collectives across processes: {reason}")
        assert proc.returncode == 0 and "thetas" in record, log.read_text()[-4000:]
        records.append(record)
    return records


def test_two_processes_equal_one(tmp_path):
    port = free_port()
    started = [start(tmp_path, f"process{i}", port, 2, i, devices=2) for i in range(2)]
    started.append(start(tmp_path, "alone", 0, 1, 0, devices=1))  # the reference: one process, one device
    first, second, alone = finish(started)

    assert [r["process_index"] for r in (first, second)] == [0, 1]
    assert first["process_count"] == second["process_count"] == 2
    assert first["devices"] == second["devices"] == 4 and first["local_devices"] == second["local_devices"] == 2
    # every global device refitted its own share of real resamples (each process's devices get only their own
    # part of the resample indices, so the draws below could not be complete without both processes' work)
    assert first["per_device"] == second["per_device"] == [16, 16, 16, 16]
    assert all(count > 0 for count in first["per_device"]) and sum(first["per_device"]) == 64
    assert alone["devices"] == 1 and alone["per_device"] == [64]
    # every process returns all 64 draws, bit for bit those of one process alone (same seed, same lanes)
    for key in ("thetas", "objectives", "iterations", "converged"):
        assert np.array_equal(first[key], second[key]), key
        assert np.array_equal(first[key], alone[key]), key
    assert np.shape(first["thetas"]) == (64, 5) and first["n_retried"] == alone["n_retried"]
    # processes called with different seeds are told so, in every process
    for record in (first, second):
        assert record["mismatch"] is not None and "process(es) [1] differ from process 0" in record["mismatch"]
