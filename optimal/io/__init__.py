"""Files that hold results: the fit record (``optimal.io.records``), the one schema every reader and writer uses."""

from .records import (
    READ_VERSIONS,
    RECORD_VERSION,
    Record,
    from_record,
    load_bootstrap,
    load_fit,
    load_record,
    save_fit,
    to_record,
)
