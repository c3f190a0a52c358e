"""Results that hold one result per group: ``GroupFits`` (``fit_groups``: every group's own fit) and
``GroupBootstraps`` (``bootstrap_groups``: every group's own bootstrap). Each is a read-only mapping
``{label: result}`` in the order the groups were fitted (sorted labels), and follows the result protocol
(``optimal._util.results``): a status, warnings and notes (each group's, labelled), ``to_dict()`` and ``summary()``.
"""

from collections.abc import Mapping

from .._util.results import Issue, Judged, Status


def combined_status(statuses) -> Status:
    """One status for many parts: SUCCESS when every part is ok, FAILED when none is, else PARTIAL."""
    oks = [s.ok for s in statuses]
    if oks and all(oks):
        return Status.SUCCESS
    return Status.PARTIAL if any(oks) else Status.FAILED


def labelled(items, name):
    """Every part's warnings (or notes: ``name``), each prefixed with its label ("[group a] ..."), codes kept.
    ``items``: ``(label, result)`` pairs."""
    return tuple(Issue(w.code, f"[{label}] {w}") for label, part in items for w in getattr(part, name))


class _ByGroup(Mapping, Judged):
    """``{label: result}`` with the result protocol over its parts."""

    def __init__(self, parts):
        self._parts = dict(parts)

    def __getitem__(self, label):
        return self._parts[label]

    def __iter__(self):
        return iter(self._parts)

    def __len__(self):
        return len(self._parts)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self._parts))})"

    @property
    def labels(self) -> tuple:
        return tuple(self._parts)

    @property
    def status(self) -> Status:
        """SUCCESS when every group's result is ok, FAILED when none is, else PARTIAL (see ``warnings``)."""
        return combined_status(part.status for part in self._parts.values())

    @property
    def warnings(self) -> tuple:
        """Every group's warnings, each prefixed with "[group LABEL]"."""
        return labelled(((f"group {k}", v) for k, v in self._parts.items()), "warnings")

    @property
    def notes(self) -> tuple:
        return labelled(((f"group {k}", v) for k, v in self._parts.items()), "notes")

    def to_dict(self) -> dict:
        """``{"status", "groups": [{"group": label, ...that group's to_dict()}]}`` in label order."""
        return {"status": self.status.label,
                "groups": [{"group": label, **part.to_dict()} for label, part in self._parts.items()]}

    def summary(self) -> str:
        """Every group's summary under a "== group LABEL ==" line, separated by blank lines."""
        return "\n\n".join(f"== group {label} ==\n{part.summary()}" for label, part in self._parts.items())


class GroupFits(_ByGroup):
    """Every group's own fit, ``{label: FitResult}`` (``optimal.fit_groups``); ``bootstrap_groups`` takes it."""


class GroupBootstraps(_ByGroup):
    """Every group's own bootstrap, ``{label: BootstrapResult}`` (``optimal.bootstrap_groups``)."""


__all__ = ["GroupBootstraps", "GroupFits", "combined_status", "labelled"]
