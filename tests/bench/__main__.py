"""`make bench`: every benchmark module's main(), one after another, printing figures."""

from __future__ import annotations

import importlib
from pathlib import Path

for path in sorted(Path(__file__).parent.glob("bench_*.py")):
    module = importlib.import_module(f"tests.bench.{path.stem}")
    print(f"== {path.stem}", flush=True)
    module.main()
