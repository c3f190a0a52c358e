"""Learning curves: every checkpoint of every run, read in long form, validated, and drawn from a known law.

A learning-curves file has one row per checkpoint: the run's id (any text), its N (parameters, the same on every row
of a run), the tokens it has seen so far D (tokens) and its loss there (nats per token); optionally the length of its
learning-rate schedule in tokens (the ``schedule`` column: the tokens over which the schedule decays, a cosine's
cycle length, say), which tells a checkpoint in the middle of a decay from one trained to its length. Hoffmann et al.
2022 (section 3.1 and their Figure A1) note that a checkpoint in the middle of a long cosine schedule has a higher
loss than a run trained to that length, so the envelope (``optimal.analysis.envelope``) warns where it rests on such
checkpoints.

``read_curves_csv`` reads a CSV or Parquet file with the readers of ``optimal.data.readers`` (bounded reads, column
names matched case-insensitively, ``where`` filters), ``validate_curves`` checks arrays; every problem is a
``DataError`` that says what to fix. ``synthetic_curves`` draws curves from a known Chinchilla law.
"""

import math
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from ..errors import DataError, check_count, check_positive, float_array
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .groups import encode_groups
from .readers import (_check_read_options, _find_column, _parse_labels, _parse_numbers, read_table,
                      _select_rows)
from .runs import RANGES, Runs, check_positive_column
from .synthetic import DEFAULT_TRUTH, _truth_log_loss
from .where import Where, selection_text, where_list

DECAYED = 0.99  # a checkpoint at 99% or more of its schedule's length counts as trained to length
MIN_RUNS = 2


class Curves(NamedTuple):
    """Validated learning curves, one entry per checkpoint, sorted by run and, within a run, by tokens seen.

    run_ids: the run labels (str), sorted, shape (R,). run: each checkpoint's run index into ``run_ids``, int64 (n,).
    n_params: N of the checkpoint's run, parameters, float64 (n,). n_tokens: tokens seen so far D, float64 (n,).
    loss: the loss at the checkpoint, nats per token, float64 (n,). schedule: the run's schedule length in tokens,
    float64 (n,), or None when none was given.
    """

    run_ids: np.ndarray
    run: np.ndarray
    n_params: np.ndarray
    n_tokens: np.ndarray
    loss: np.ndarray
    schedule: np.ndarray | None

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)

    def decayed(self) -> np.ndarray | None:
        """(n,) bool: the checkpoint is at ``DECAYED`` (99%) or more of its run's schedule length (trained to length);
        None without a schedule column (it cannot be told)."""
        return None if self.schedule is None else self.n_tokens >= DECAYED * self.schedule

    def final(self) -> np.ndarray:
        """(n,) bool: each run's last checkpoint (its most tokens)."""
        last = np.ones(len(self.run), dtype=bool)
        last[:-1] = self.run[1:] != self.run[:-1]
        return last

    def runs(self, which: str = "final") -> Runs:
        """The checkpoints as ``Runs`` for a parametric fit: ``"final"`` each run's last checkpoint, ``"all"`` every
        checkpoint (its ``groups``: the run index, so a cluster bootstrap resamples whole runs)."""
        if which not in ("final", "all"):
            raise DataError(f"which must be 'final' or 'all', got {which!r}")
        keep = self.final() if which == "final" else np.ones(len(self.run), dtype=bool)
        return Runs(self.n_params[keep], self.n_tokens[keep], self.loss[keep], np.ones(int(keep.sum())),
                    self.run[keep])


def validate_curves(run_ids, n_params, n_tokens, loss, schedule=None, source: str | None = None) -> Curves:
    """Check learning curves given as arrays, one entry per checkpoint, and return them as ``Curves``.

    Args:
      run_ids: each checkpoint's run label (any hashable values; shown as text), length n.
      n_params: N of the checkpoint's run in parameters, (n,): the same on every checkpoint of a run.
      n_tokens: tokens seen so far at the checkpoint, (n,). loss: the loss there, nats per token, (n,).
      schedule: optional (n,) length of the run's learning-rate schedule in tokens (the same on every checkpoint of a
        run, and at least the run's most tokens seen).
      source: put in front of every message (a file's name).

    Raises:
      DataError: columns of different lengths; a non-positive or non-finite N, D, loss or schedule; a run whose N (or
        schedule) differs between its checkpoints; two checkpoints of a run at the same tokens; a checkpoint past its
        run's schedule; fewer than 2 runs or fewer than 2 distinct N.

    Example:
      >>> c = validate_curves(["a", "a", "b", "b"], [1e8, 1e8, 4e8, 4e8], [1e9, 2e9, 1e9, 2e9], [3.4, 3.2, 3.1, 2.9])
      >>> c.run_ids.tolist(), c.final().tolist()
      (['a', 'b'], [False, True, False, True])
    """
    where = (lambda text: f"{source}: {text}") if source else (lambda text: text)  # noqa: E731
    columns = {}
    for name, values in (("n_params", n_params), ("n_tokens", n_tokens), ("loss", loss), ("schedule", schedule)):
        if values is None:
            continue
        try:
            columns[name] = float_array(values, name, DataError, source=source).reshape(-1)
        except DataError:  # float_array's, for an int beyond float64 (a ValueError too)
            raise
        except (TypeError, ValueError) as exc:
            raise DataError(where(f"{name} is not numeric ({exc}); give numbers, one per checkpoint")) from None
    labels = np.asarray([str(r) for r in np.asarray(run_ids, dtype=object).reshape(-1)], dtype=object)
    lengths = {"run_ids": len(labels), **{k: len(v) for k, v in columns.items()}}
    if len(set(lengths.values())) > 1:
        raise DataError(where("columns have different lengths (" + ", ".join(f"{k} has {v}" for k, v in lengths.items())
                              + "); give one value per checkpoint in each"))
    return _curves(labels, columns["n_params"], columns["n_tokens"], columns["loss"], columns.get("schedule"),
                   {"n_params": "n_params", "n_tokens": "n_tokens", "loss": "loss", "schedule": "schedule",
                    "run": "run_ids"}, lambda i: f"index {i}", source)


def _curves(labels, n, d, y, schedule, names, row, source, kept=""):
    """The checks shared by arrays and files (``names``: what messages call the columns, ``row``: a row's name,
    ``source``: the file, ``kept``: what the row filters did, for the message on too few runs)."""
    where = (lambda text: f"{source}: {text}") if source else (lambda text: text)  # noqa: E731
    for values, key in ((n, "n_params"), (d, "n_tokens"), (y, "loss"), (schedule, "schedule")):
        if values is None:
            continue
        check_positive_column(values, names[key], row, source)
        lo, hi = RANGES["loss" if key == "loss" else "n_tokens"]
        bad = (values < lo) | (values > hi)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(where(f"column {names[key]!r}, {row(i)}: {float(values[i])!r} is outside the range the "
                                  f"fit can compute with ({lo:g} to {hi:g}); check the units"))
    if len(labels) == 0:
        raise DataError(where("no checkpoints; give one row per checkpoint (run, N, tokens seen, loss)"))
    run_ids, run = encode_groups(labels.tolist())
    run_ids = np.asarray([str(r) for r in run_ids], dtype=object)
    order = np.lexsort((d, run))
    for key, values in (("n_params", n), ("schedule", schedule)):
        if values is None:
            continue
        first = np.full(len(run_ids), np.nan)
        first[run[::-1]] = values[::-1]  # each run's first value
        bad = values != first[run]
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(where(f"run {labels[i]!r}: column {names[key]!r} is {float(first[run[i]]):g} on one "
                                  f"checkpoint and {float(values[i]):g} at {row(i)}; every checkpoint of a run has the "
                                  f"same {'N' if key == 'n_params' else 'schedule length'} (give each run its own id)"))
    run, n, d, y = run[order], n[order], d[order], y[order]
    schedule = None if schedule is None else schedule[order]
    same = (run[1:] == run[:-1]) & (d[1:] == d[:-1])
    if same.any():
        i = int(order[1:][np.argmax(same)])
        raise DataError(where(f"run {labels[i]!r} has two checkpoints at {float(d[1:][same][0]):g} tokens ({row(i)}); "
                              "keep one row per checkpoint (average repeated evaluations first)"))
    if schedule is not None:
        past = d > schedule * (1.0 + 1e-9)
        if past.any():
            i = int(order[np.argmax(past)])
            raise DataError(where(f"run {labels[i]!r}, {row(i)}: {float(d[past][0]):g} tokens seen is past its schedule "
                                  f"length {float(schedule[past][0]):g}; the schedule column gives the tokens the "
                                  "learning-rate schedule runs over (at least the run's last checkpoint)"))
    if len(run_ids) < MIN_RUNS:
        raise DataError(where(f"need at least {MIN_RUNS} runs, got {len(run_ids)} ({run_ids[0]!r}){kept}; the "
                              "envelope compares runs of different sizes"))
    if len(np.unique(n)) < 2:
        raise DataError(where(f"every run has the same N ({float(n[0]):g}); the envelope needs runs of several sizes"))
    return Curves(run_ids, run.astype(np.int64), n, d, y, schedule)


def read_curves_csv(path: str | Path, run_col: str | None = None, params_col: str | None = None,
                    tokens_col: str | None = None, flops_col: str | None = None, loss_col: str | None = None,
                    schedule_col: str | None = None, flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN,
                    where: "str | Where | Sequence[str | Where] | None" = None) -> Curves:
    """Read learning curves from a CSV file (or a ``.parquet`` file), one checkpoint per row, in long form.

    Column names are matched case-insensitively. By default the run id is read from ``run``, N from ``N``
    (parameters), the tokens seen so far from ``D`` and the loss from ``loss`` (nats per token).

    Args:
      path: the file (UTF-8 CSV with a header row, or Parquet; read bounded in size, ``optimal.data.readers``).
      run_col, params_col, tokens_col, loss_col: the columns (defaults ``run``, ``N``, ``D``, ``loss``).
      flops_col: a column of FLOPs spent so far, to derive D = C / (k N) from (k = ``flops_per_param_token``);
        not with ``tokens_col``.
      schedule_col: optional column of each run's learning-rate schedule length in tokens (a cosine's cycle length):
        a checkpoint before 99% of it is not trained to length.
      where: row filters (``optimal.parse_where``), applied first.

    Raises:
      DataError: as ``read_runs_csv`` for the file and its cells, and as ``validate_curves`` for the curves.

    Example:
      >>> curves = read_curves_csv("curves.csv", schedule_col="schedule")  # doctest: +SKIP
    """
    source = str(path)
    _check_read_options(flops_col, tokens_col, flops_per_param_token, source,
                        [("run_col", run_col), ("params_col", params_col), ("tokens_col", tokens_col),
                         ("flops_col", flops_col), ("loss_col", loss_col), ("schedule_col", schedule_col)])
    filters = where_list(where)
    table = read_table(path)
    wanted = {"run": (run_col or "run", "run_col"), "n_params": (params_col or "N", "params_col"),
              "n_tokens": (None if flops_col else tokens_col or "D", "tokens_col"), "flops": (flops_col, "flops_col"),
              "loss": (loss_col or "loss", "loss_col"), "schedule": (schedule_col, "schedule_col")}
    index = {key: _find_column(table.header, name, argument, source) for key, (name, argument) in wanted.items()
             if name is not None}
    rows, selection = _select_rows(table, filters, source)
    row = lambda i: table.row(int(rows[i]))  # noqa: E731  the file's own row
    name = {key: table.header[j].strip() for key, j in index.items()}
    columns = {key: table.column(j) for key, j in index.items()}  # a CSV table builds a column on each call
    cells = {key: [columns[key][i] for i in rows] for key in index}
    values = {key: (_parse_labels if key == "run" else _parse_numbers)(cells[key], name[key], row, source)
              for key in index}
    if flops_col:
        check_positive_column(values["n_params"], name["n_params"], row, source)
        check_positive_column(values["flops"], name["flops"], row, source)
        values["n_tokens"] = values.pop("flops") / (flops_per_param_token * values["n_params"])
        name["n_tokens"] = f"D = {name['flops']} / ({flops_per_param_token:g} N)"
    kept = f" after the row filters ({selection_text(selection)})" if selection else ""
    return _curves(values["run"], values["n_params"], values["n_tokens"], values["loss"], values.get("schedule"),
                   name, row, source, kept)


# --- synthetic curves from a known law ------------------------------------------------------------------------------

@float64_scope
def synthetic_curves(sizes=tuple(np.geomspace(3e7, 3e9, 9)), horizons=(5.0, 10.0, 20.0, 40.0, 80.0, 160.0),
                     truth=DEFAULT_TRUTH, checkpoints=24, noise=0.0, cosine_penalty=0.0, start=0.02, seed=0) -> Curves:
    """Learning curves from a known Chinchilla law: for every N in ``sizes`` (parameters) and every ``h`` in
    ``horizons``, one run whose schedule length is T = h N tokens, with ``checkpoints`` checkpoints log-spaced from
    ``start x T`` to T.

    The loss at a checkpoint that has seen D tokens is ``truth(N, D) x exp(noise x standard normal) x
    exp(cosine_penalty x (1 + cos(pi D / T)) / 2)`` (nats): the law itself at the run's end, and, with a
    ``cosine_penalty``, above it before the schedule has decayed (the penalty is a toy model of a cosine schedule not
    yet decayed, largest early and 0 at D = T; Hoffmann et al. 2022 describe the effect, not this form).

    Args:
      sizes: N of the runs, parameters. horizons: schedule lengths in tokens per parameter (one run per size and
        horizon). truth: the ``Chinchilla`` law. checkpoints: per run (>= 2). noise: log-loss sd (>= 0) per checkpoint.
      cosine_penalty: log-loss excess at D = 0 of an undecayed checkpoint (>= 0). start: the first checkpoint's
        fraction of T (0 < start < 1). seed: NumPy's default generator's seed.

    Returns:
      ``Curves`` with the schedule column (T), run ids ``N<size index>-h<horizon>``.

    Example:
      >>> c = synthetic_curves(sizes=(1e8, 2e8), horizons=(10.0,), checkpoints=3)
      >>> c.n_runs, len(c.loss), bool(c.decayed()[-1])
      (2, 6, True)
    """
    checkpoints = check_count(checkpoints, "checkpoints", 2, 10_000, error=DataError)
    for value, label in ((noise, "noise"), (cosine_penalty, "cosine_penalty")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10:
            raise DataError(f"{label} must be a log-loss size from 0 to 10, got {value!r:.40}")
    if not 0 < start < 1:
        raise DataError(f"start must be a fraction of the schedule between 0 and 1, got {start!r:.40}")
    sizes = [check_positive(s, "size", DataError) for s in sizes]
    horizons = [check_positive(h, "horizon", DataError) for h in horizons]
    if not sizes or not horizons:  # no runs was NumPy's ValueError from concatenate
        raise DataError(f"synthetic curves need at least one size and one horizon, got {len(sizes)} sizes and "
                        f"{len(horizons)} horizons")
    rng = np.random.default_rng(seed)
    fractions = np.geomspace(start, 1.0, checkpoints)
    labels, n, d, t = [], [], [], []
    for i, size in enumerate(sizes):
        for h in horizons:
            total = h * size
            labels += [f"N{i}-h{h:g}"] * checkpoints
            n.append(np.full(checkpoints, size))
            d.append(fractions * total)
            t.append(np.full(checkpoints, total))
    n, d, t = np.concatenate(n), np.concatenate(d), np.concatenate(t)
    penalty = cosine_penalty * 0.5 * (1.0 + np.cos(math.pi * d / t))
    loss = np.exp(_truth_log_loss(truth, n, d) + penalty + noise * rng.standard_normal(len(n)))
    return validate_curves(labels, n, d, loss, t, source="synthetic_curves")
