"""What every CLI test file uses: run ``optimal ARGV`` in-process, check the one-line error, read strict JSON, and a
module's runs file and fit record (tests/ is on the path of every test module: the rootdir conftest lives there)."""

import json

import pytest

import optimal
from optimal.cli import main

LAW = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error(code, out, err, message):
    assert code == 2 and out == "", err
    assert err.startswith("error: ") and err.count("\n") == 1 and len(err) < 1000, err
    assert message in err, err


def strict(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A runs CSV (40 synthetic runs), a fit record saved with 8 bootstrap draws, and that record as a dict."""
    folder = tmp_path_factory.mktemp("cli")
    runs = optimal.synthetic_runs(n_runs=40)
    csv = folder / "runs.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in
                                          zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist())))
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    record = folder / "fit.json"
    optimal.save_fit(record, result, bootstrap=optimal.bootstrap(result, n_resamples=8))
    return {"csv": csv, "record": record, "dict": json.loads(record.read_text()), "folder": folder}


def gadre_csv(path, overtrained=True, extra=()):
    """A runs CSV of Gadre et al. 2024's smallest protocol: 4 runs at 20 tokens per parameter and (``overtrained``)
    one 16x over-trained, from a law with alpha = beta (4 free coefficients when the exponents are tied); ``extra``:
    more model sizes at 20 tokens per parameter (runs to hold out, say)."""
    import numpy as np

    n = np.array([11e6, 79e6, 154e6, 411e6] + ([11e6] if overtrained else []) + list(extra))
    d = np.array([20, 20, 20, 20] + ([320] if overtrained else []) + [20] * len(extra)) * n
    loss = (1.8 + 400 / n ** 0.3 + 400 / d ** 0.3) * np.exp(0.003 * np.random.default_rng(0).standard_normal(n.size))
    path.write_text("N,D,loss\n" + "".join(f"{a:.17g},{b:.17g},{c:.17g}\n" for a, b, c in zip(n, d, loss)))
    return path
