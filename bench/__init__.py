"""Benchmarks, run from the repository root as modules (``python -m bench.dialogue``, ``make bench`` runs them
all): the root is then on the import path, so ``bench`` and ``testkit`` import without being installed."""
