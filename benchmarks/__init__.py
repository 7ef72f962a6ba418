"""Benchmarks of lgsp, each against a baseline measured in the same run.

Run from the repository root with ``python -m benchmarks`` (``--help`` for the options).
Inputs are built in a temporary directory on every run; nothing is written to the tree
except the ``--json`` file when asked. Targets are reported, never asserted: the exit code
is 0 unless the benchmark itself fails.
"""
