"""Warnings attributed to the caller's line: the first stack frame outside the ``optimal`` package.

``warnings.warn(stacklevel=k)`` counts every wrapper between the caller and the warning (``float64_scope``, a
shared ``_finish``), so a fixed k pointed at ``optimal/_util/precision.py`` instead of the user's code. ``warn``
finds the first frame whose file is not in the package, whatever the depth: Python 3.12+ skips the package's files
with ``skip_file_prefixes``; 3.11 walks the frames and computes the stack level.
"""

import os
import sys
import warnings

# the package's directory as the interpreter names its files (``co_filename``), with a separator so that a
# sibling like ``optimal_tools/`` is not taken for it
PACKAGE_PREFIX = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn(message, category)`` attributed to the first caller outside the ``optimal`` package (the
    user's line, or the command line's, or a test's)."""
    if sys.version_info >= (3, 12):
        warnings.warn(message, category, skip_file_prefixes=(PACKAGE_PREFIX,))
        return
    frame, level = sys._getframe(1), 2  # stacklevel 2 is warn's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(PACKAGE_PREFIX):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
