"""The row-filter language every reader takes as ``where=``: ``COLUMN=VALUE``, ``COLUMN!=VALUE``, ``COLUMN<X``,
``COLUMN<=X``, ``COLUMN>X``, ``COLUMN>=X`` (``parse_where``), and how a filter compares cells (``where_mask``).

Cells are text, as a CSV file holds them; a number compares as a number where both sides are one. NumPy only.
"""

import math
import re
from typing import NamedTuple, Sequence

import numpy as np

from ..errors import DataError


class Where(NamedTuple):
    """One row filter, as ``parse_where`` reads it: keep the rows whose ``column`` compares with ``value`` by ``op``.

    column: the column's name (matched as the readers match names: ignoring case and surrounding spaces).
    op: one of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``. value: the text to compare with (a number for the
    order comparisons). expression: the filter as written, for messages.
    """

    column: str
    op: str
    value: str
    expression: str


class RowsKept(NamedTuple):
    """What one filter did: the rows it ``kept`` of the ``of`` rows the filters before it left (``where``: the
    filter as written)."""

    where: str
    kept: int
    of: int


WHERE_FORMS = "COLUMN=VALUE, COLUMN!=VALUE, COLUMN<X, COLUMN<=X, COLUMN>X or COLUMN>=X (X a number)"
# The first operator in the text splits it: a column name cannot hold = ! < >, a value can (after = and !=) but
# not at its start, where it is most likely a mistyped operator (N=>3 for N>=3).
_WHERE = re.compile(r"^(?P<column>[^=!<>]+?)\s*(?P<op>!=|<=|>=|==|=|<|>)(?P<value>.*)$", re.DOTALL)
_ORDER = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def parse_where(expression: "str | Where") -> Where:
    """Read a row filter: ``COLUMN=VALUE``, ``COLUMN!=VALUE``, ``COLUMN<X``, ``COLUMN<=X``, ``COLUMN>X``, ``COLUMN>=X``.

    ``=`` (also written ``==``) and ``!=`` compare numerically when both the cell and the value are numbers
    (``1e9`` equals ``1000000000``), else as text, exactly, after stripping surrounding spaces. ``<``, ``<=``,
    ``>``, ``>=`` compare numbers: the value must be one, and so must every cell they compare. Spaces around
    the column name, the operator and the value are ignored. A ``Where`` is returned as it is.

    Raises:
      DataError: an expression of none of these forms (the message shows it and the forms), or an order
        comparison with a value that is not a number.

    Example:
      >>> parse_where("dataset = web")
      Where(column='dataset', op='=', value='web', expression='dataset = web')
      >>> parse_where("N>=1e9").op
      '>='
    """
    if isinstance(expression, Where):
        return expression
    if not isinstance(expression, str):
        raise DataError(f"a row filter is text such as 'dataset=web', got {expression!r}; use {WHERE_FORMS}")
    text = expression.strip()
    match = _WHERE.match(text)
    column, op, value = (match["column"].strip(), match["op"], match["value"].strip()) if match else ("", "", "")
    if not column or not value or value[0] in "=<>":
        raise DataError(f"{text!r} is not a row filter; use {WHERE_FORMS}")
    op = "=" if op == "==" else op
    if op in _ORDER and _number(value) is None:
        raise DataError(f"{text!r}: {op} compares numbers and {value!r} is not one; use {WHERE_FORMS}")
    return Where(column, op, value, text)


def where_list(where):
    """``where`` (None, one filter, or a sequence of them) as a list of ``Where``."""
    if where is None:
        return []
    if isinstance(where, (str, Where)):
        where = [where]
    return [parse_where(w) for w in where]


def _number(text):
    """``text`` as a float, or None where it is not a number (NaN included: it neither equals nor orders)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def cell_text(value):
    """A stored value as the text a CSV file would hold: a missing value (None) is an empty cell."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def filter_mask(cells, f, name, row, source):
    """Which of ``cells`` pass filter ``f`` (``parse_where`` says how each operator compares)."""
    if f.op in _ORDER:
        values = np.empty(len(cells))
        for i, cell in enumerate(cells):
            value = _number(cell)
            if value is None:
                raise DataError(f"{source}: column {name!r}, {row(i)}: {cell!r} is not a number, and the row filter "
                                f"{f.expression!r} compares numbers; correct the row, or leave it out with a filter "
                                "before this one")
            values[i] = value
        return _ORDER[f.op](values, float(f.value))
    target = _number(f.value)
    equal = np.array([_equals(cell, f.value, target) for cell in cells], dtype=bool)
    return equal if f.op == "=" else ~equal


def _equals(cell, text, number):
    """A cell equals a filter's value: as numbers when both are (``number``: the value's), else as text."""
    if number is not None:
        value = _number(cell)
        if value is not None:
            return value == number
    return cell.strip() == text


def selection_text(selection):
    return "; ".join(f"{s.where} kept {s.kept} of {s.of} rows" for s in selection)


def where_mask(values: Sequence, where: "str | Where", name: str | None = None, source: str = "values") -> np.ndarray:
    """Which of ``values`` (n,) pass the row filter ``where`` (``parse_where``), compared exactly as the readers
    compare a file's cells (numbers as numbers, else text): a bool array (n,). ``name`` is the column's name in
    messages (default the filter's). Raises ``DataError`` for a malformed filter, or a value that is not a number
    where the filter compares numbers.

    Example:
      >>> where_mask([1e18, 7e18], "C>=6.4e18").tolist()
      [False, True]
    """
    f = parse_where(where)
    cells = [cell_text(v) if isinstance(v, str) or v is None else repr(float(v)) if isinstance(v, (float, np.floating))
             else str(v) for v in values]
    return filter_mask(cells, f, name or f.column, lambda i: f"index {i}", source)

