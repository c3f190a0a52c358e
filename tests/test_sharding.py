"""Resamples sharded over 4 (forced host) devices give the same draws as one device."""

import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = """
import json, sys, jax
import optimal
runs = optimal.synthetic_runs(n_runs=80, seed=3)
result = optimal.fit(*runs[:3])
boot = optimal.bootstrap(result, n_resamples=64, seed=5, chunk_size=32)  # 32 per device: rounded up to one solver block
print(json.dumps({"devices": jax.device_count(), "thetas": boot.thetas.tolist(), "params": boot.params()}))
"""


def run_with_devices(count):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_four_devices_equal_one():
    one, four = run_with_devices(1), run_with_devices(4)
    assert one["devices"] == 1 and four["devices"] == 4
    # each lane runs the same operations on every device; only XLA's choice of fusion could differ
    np.testing.assert_allclose(four["thetas"], one["thetas"], rtol=1e-12, atol=1e-14)
    for name, interval in one["params"].items():
        for key in ("lo", "hi", "se"):
            assert four["params"][name][key] == np.float64(interval[key]) or abs(
                four["params"][name][key] - interval[key]
            ) <= 1e-12 * abs(interval[key]), (name, key)
