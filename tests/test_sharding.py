"""Resamples sharded over 4 (forced host) devices give the same draws as one device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = """
import json, sys, jax
import optimal
runs = optimal.synthetic_runs(n_runs=80, seed=3)
result = optimal.fit(*runs[:3])
boot = optimal.bootstrap(result, n_resamples=64, seed=5, refit=optimal.Refit(chunk_size=8))  # several calls per device
print(json.dumps({"devices": jax.device_count(), "thetas": boot.thetas.tolist(), "params": boot.params(),
                  "per_device": list(boot.resamples_per_device)}))
"""


def run_with_devices(count):
    # the suite's XLA flags kept (tests/conftest.py); both processes read the suite's compilation cache
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}".strip()
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_four_devices_equal_one():
    one, four = run_with_devices(1), run_with_devices(4)
    assert one["devices"] == 1 and four["devices"] == 4
    # every device refits its own quarter of the real resamples (not one device's work and three of padding)
    assert one["per_device"] == [64] and four["per_device"] == [16, 16, 16, 16]
    # each lane runs the same operations on every device; only XLA's choice of fusion could differ
    np.testing.assert_allclose(four["thetas"], one["thetas"], rtol=1e-12, atol=1e-14)
    for name, interval in one["params"].items():
        for key in ("lo", "hi", "se"):
            assert four["params"][name][key] == np.float64(interval[key]) or abs(
                four["params"][name][key] - interval[key]
            ) <= 1e-12 * abs(interval[key]), (name, key)


def test_plan_gives_every_device_real_work():
    from optimal.fitting.resample import device_plan

    # 8 accelerators, 8192 slots and 4 starts per resample: a block is 2048 resamples, more than B / 8 = 500.
    # The old plan filled blocks in order, so two devices got all 4000 resamples and six computed padding.
    indices, real = device_plan(np.arange(4000), n_devices=8, per_block=2048, max_per_call=10**6)
    assert real.sum(axis=(0, 2)).tolist() == [500] * 8
    assert sorted(indices[real].tolist()) == list(range(4000))  # each resample exactly once
    assert indices.shape[2] % 2048 == 0  # whole solver blocks per device per call
    # many calls: as equal as possible, every resample once, padding only at the end of a device's share
    indices, real = device_plan(np.arange(1000), n_devices=3, per_block=16, max_per_call=100)
    assert sorted(indices[real].tolist()) == list(range(1000))
    assert indices.shape[0] == 4 and indices.shape[2] == 96
    assert real.sum(axis=(0, 2)).tolist() == [334, 334, 332]


def test_solver_slots_shrink_with_rows():
    from optimal.fitting.solver import _SLOT_ROWS, default_slots

    # memory grew with 256 slots x rows (100k rows, B = 20: 4.7 GB); slots x rows now stays under ~1M
    assert default_slots(240) == 256  # Epoch-sized data keep the cache-measured 256
    for rows in (5_000, 100_000, 200_000, 2_000_000):
        slots = default_slots(rows)
        assert slots >= 1 and (slots * rows <= _SLOT_ROWS or slots == 1)
        assert slots & (slots - 1) == 0  # a power of two
