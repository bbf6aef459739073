"""Soak: many concurrent clients, a random fault schedule drawn from a seed, the whole history judged,
and a failing soak shrunk to a minimal reproducer (``harness replay repro.json``)."""
