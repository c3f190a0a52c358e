"""JSON files in and out: any file read gives the parsed object or one clear error, and what is written is
strict JSON (RFC 8259: no NaN or Infinity, which Python's ``json`` writes by default and most readers reject).

Every coefficients file, fit record and CLI output goes through here, so the rules live in one place:
``read_json`` (UTF-8 with or without a byte-order mark, at most ``MAX_BYTES``), ``dumps_strict`` (non-finite
numbers become null, and their places are reported so that the caller can warn), ``check_writable`` (can a
file be written there, asked before a long computation) and ``write_text``. ``field``, ``as_dict``,
``as_number`` and ``as_array`` turn parsed values into checked Python and NumPy values (a string is never a
number, a list never an object), raising ``CoefficientsError`` that names the place.
"""

import json
import math
import os
from pathlib import Path

import numpy as np

from ..errors import CoefficientsError, OutputError, float_array

MAX_BYTES = 512 * 2**20  # a fit record of 4500 starts and 10^5 rows is ~20 MB; past this it is not ours
_MAX_INT_DIGITS = 308  # integers longer than this do not fit a float64 (1.8e308)


def read_json(path, what):
    """The parsed contents of the JSON file ``path``; ``what`` names it in messages ("fit record", ...).

    Raises ``CoefficientsError`` (one line) for a file that cannot be read, is over ``MAX_BYTES``, is not UTF-8
    text, is not valid JSON, nests too deeply, or holds an integer too long for a float64.
    """
    label = f"{what} {str(path)!r}"
    try:
        # O_NONBLOCK: opening a FIFO without a writer would wait forever; then blocking again, so a pipe with a
        # writer (a shell's <(...)) is read to its end, and one without reads as empty
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_BYTES:
                raise CoefficientsError(f"{label} is larger than {MAX_BYTES // 2**20} MiB; is it the right file?")
            data = file.read(MAX_BYTES + 1)  # a pipe or device has no size to check first
    except OSError as exc:
        raise CoefficientsError(f"cannot read {label}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:  # a NUL byte in the name, a path that is not a path
        raise CoefficientsError(f"cannot read {label}: {exc}") from None
    except MemoryError:
        raise CoefficientsError(f"cannot read {label}: not enough memory") from None
    if len(data) > MAX_BYTES:
        raise CoefficientsError(f"{label} is larger than {MAX_BYTES // 2**20} MiB; is it the right file?")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CoefficientsError(f"{label} is UTF-16 text, not UTF-8; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CoefficientsError(f"{label} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                "is it a JSON file?") from None

    def parse_int(digits):
        if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
            raise CoefficientsError(f"{label} holds an integer of {len(digits.lstrip('-'))} digits, beyond what a "
                                    "float64 holds")
        return int(digits)

    try:
        return json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise CoefficientsError(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise CoefficientsError(f"{label} nests arrays or objects too deeply to read") from None
    except MemoryError:
        raise CoefficientsError(f"{label} is too large to read into memory") from None
    except CoefficientsError:
        raise
    except ValueError as exc:
        raise CoefficientsError(f"{label} is not valid JSON ({exc})") from None


def dumps_strict(obj, **kwargs):
    """``json.dumps(obj, **kwargs)`` as strict JSON, and where it held non-finite numbers.

    NaN and ±inf (Python floats, NumPy scalars, inside NumPy arrays, dicts, lists and tuples) are written as
    null. Returns ``(text, places)``: ``places`` lists each non-finite value's place, e.g.
    ``["bootstrap.params.E.lo"]``, empty when there were none.
    """
    places = []
    return json.dumps(_finite_or_null(obj, "", places), allow_nan=False, **kwargs), places


def _finite_or_null(value, place, places):
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # NumPy (or JAX) arrays and scalars
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        places.append(place or "(the value)")
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v, f"{place}.{k}" if place else str(k), places) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v, f"{place}[{i}]", places) for i, v in enumerate(value)]
    return value


def check_writable(path, what, error=OutputError):
    """Raise ``error`` unless a file can be written at ``path``: its folder exists and can be written to, and
    ``path`` is not a folder. Ask before a long computation whose result goes there. Returns ``Path(path)``."""
    label = f"cannot write {what} {str(path)!r}"
    try:
        path = Path(path)
        if path.is_dir():
            raise error(f"{label}: it is a folder; give a file name")
        folder = path.parent
        if not folder.exists():
            raise error(f"{label}: folder {str(folder)!r} does not exist")
        if not folder.is_dir():
            raise error(f"{label}: {str(folder)!r} is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise error(f"{label}: permission denied")
    except (OSError, ValueError, TypeError) as exc:
        if isinstance(exc, error):
            raise
        raise error(f"{label}: {getattr(exc, 'strerror', None) or exc}") from None
    return path


def write_text(path, text, what, error=OutputError):
    """Write ``text`` (UTF-8) to ``path``; an ``OSError`` becomes ``error`` naming the file."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def field(mapping, key, where=""):
    """``mapping[key]`` or ``CoefficientsError`` saying that ``where + key`` is missing."""
    if key not in mapping:
        raise CoefficientsError(f"{where}{key} is missing")
    return mapping[key]


def as_dict(value, name):
    """``value`` if it is a JSON object, else ``CoefficientsError``."""
    if not isinstance(value, dict):
        raise CoefficientsError(f"{name} must be an object, not {_kind(value)}")
    return value


def as_number(value, name, null=False):
    """``value`` as a float if it is a JSON number (or null, as NaN, where ``null``), else ``CoefficientsError``."""
    if value is None and null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CoefficientsError(f"{name} must be a number, not {_kind(value)}")
    return float(float_array(value, name, CoefficientsError, "a number within float64's range"))


_ELEMENT = {  # kind -> (the JSON values allowed, the dtype, what a message calls them)
    "float": ((int, float), np.float64, "numbers"),
    "int": ((int,), np.int64, "integers"),
    "bool": ((bool,), bool, "true/false values"),
}


def as_array(value, name, kind="float", ndim=1, width=None, length=None, null=False):
    """A list (``ndim`` 1) or list of lists (``ndim`` 2, rows of ``width``) of JSON numbers as a NumPy array.

    ``kind`` is "float", "int" or "bool"; ``null`` lets float elements be null (NaN); ``length`` is the
    number of elements (rows) wanted. Anything else is a ``CoefficientsError`` naming ``name``.
    """
    allowed, dtype, called = _ELEMENT[kind]
    rows = [value] if ndim == 1 else value
    if not isinstance(value, list) or (ndim == 2 and not all(isinstance(r, list) for r in rows)):
        shape = "a list" if ndim == 1 else f"a list of lists of {width}"
        raise CoefficientsError(f"{name} must be {shape} of {called}")
    for row in rows:
        if width is not None and ndim == 2 and len(row) != width:
            raise CoefficientsError(f"{name} must be a list of lists of {width} {called}, found one of {len(row)}")
        for v in row:
            if (v is None and null) or (isinstance(v, allowed) and (kind == "bool" or not isinstance(v, bool))):
                continue
            raise CoefficientsError(f"{name} must hold {called}, found {_kind(v)}")
    if length is not None and len(value) != length:
        raise CoefficientsError(f"{name} has {len(value)} entries, not {length}")
    try:
        array = np.asarray(value, dtype=dtype)
    except OverflowError:
        raise CoefficientsError(f"{name} holds a number beyond what {np.dtype(dtype).name} holds") from None
    return array.reshape(-1, width) if ndim == 2 and width is not None else array
