"""One module per benchmark suite; ``benchmarks/run.py`` picks one by its flags and ``benchmarks/harness.py`` times,
describes the machine and writes the results."""
