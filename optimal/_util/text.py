"""Plain-text tables for the results' ``summary()`` (what the command line prints)."""


def or_na(value, spec):
    """A number formatted with ``spec``, or n/a for a missing one (an interval from fewer than 2 draws)."""
    return "n/a" if value is None else format(value, spec)


def format_table(headers, rows):
    """Columns right-aligned to their widest cell, separated by two spaces; ``rows`` are lists of texts."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


__all__ = ["format_table", "or_na"]
