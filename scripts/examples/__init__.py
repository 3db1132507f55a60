"""Deterministic generator of the example programmes under inventory/ (altena, ple1n).

Run `python -m examples.generate` (scripts/ is on the path of the project's venv); the
output is committed, and tests/test_examples.py checks it is byte-identical to a fresh run.
"""
