"""The ``optimal`` command line: ``run()`` is the installed program's entry point, ``main(argv)`` the testable core."""

from .main import CACHE_ENV, build_parser, compilation_cache_dir, main, run
