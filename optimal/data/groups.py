"""The one group encoder: labels of runs (a group, a cluster, a model configuration) as int ids.

Every place that numbers groups uses ``encode_groups``, so that group g means the same group everywhere: in
``Runs.groups``, in a fit's group labels and in a cluster bootstrap's clusters. Labels are compared as text
(``str(label)``: the CSV reader's labels are text, and ``7`` and ``"7"`` are one group) and numbered in the
text's sorted order, which does not depend on the order of the rows.
"""

from typing import Hashable, Iterable

import numpy as np

from ..errors import DataError


def encode_groups(labels: Iterable[Hashable], n_rows: int | None = None) -> tuple[tuple, np.ndarray]:
    """The distinct labels, sorted as text, and each row's int64 id 0..G-1 into them.

    Args:
      labels: one label per run (any values; a label is its ``str``), length n.
      n_rows: the number of runs the labels must match; None skips the check.

    Returns:
      ``(names, ids)``: ``names`` a tuple of the G distinct labels as str, in sorted order; ``ids`` (n,) int64,
      ``names[ids[i]]`` being run i's label.

    Raises:
      DataError: labels that are not a sequence of single values, or not ``n_rows`` of them.

    Example:
      >>> encode_groups(["b", "a", "b"])
      (('a', 'b'), array([1, 0, 1]))
      >>> encode_groups([10, 9, 10])[0]  # as text: "10" sorts before "9"
      ('10', '9')
    """
    if isinstance(labels, (str, bytes)):
        raise DataError(f"groups must be a sequence of labels, one per run, got the text {labels!r}")
    try:
        text = [str(label) for label in (labels.tolist() if isinstance(labels, np.ndarray) else labels)]
    except TypeError:
        raise DataError(f"groups must be a sequence of labels, one per run, got {labels!r}") from None
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise DataError(f"groups must have one label per row, got shape {labels.shape}")
    if n_rows is not None and len(text) != n_rows:
        raise DataError(f"groups must have one label per row ({n_rows}), got {len(text)}")
    names, ids = np.unique(np.asarray(text, dtype=str), return_inverse=True) if text else ([], np.zeros(0))
    return tuple(str(name) for name in names), np.asarray(ids, dtype=np.int64).reshape(-1)
