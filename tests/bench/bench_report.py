"""The weekend report against the rehearsal it reports: a whole rehearsal of the mini
programme on the lab (the baseline, measured in the same run), then the report rebuilt from
its journal three times (the median).

    python -m tests.bench.bench_report
    BENCH_PROGRAMME=inventory/altena BENCH_MUNICIPALITY=woudrichem python -m tests.bench.bench_report

Writing the report must stay a small fraction of the rehearsal: it runs after every wave run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from pathlib import Path

from tests.bench.lab_bench import MINI, show, timed

from eendracht.report import write_report
from eendracht.wave.paths import REPO_ROOT
from eendracht.wave.rehearse import rehearse

PROGRAMME = Path(os.environ.get("BENCH_PROGRAMME", str(MINI)))
MUNICIPALITY = os.environ.get("BENCH_MUNICIPALITY", "noordwaard")


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-report-", dir="/tmp"))
    state.chmod(0o755)
    programme = PROGRAMME if PROGRAMME.is_absolute() else REPO_ROOT / PROGRAMME
    try:
        wall, result = timed(
            lambda: rehearse(programme, MUNICIPALITY, yes=True, state=state, say=lambda _: None)
        )
        if result.exit_code != 0 or result.saved is None:
            raise RuntimeError(f"the rehearsal failed: {result.error or result.outcome}")
        journal = result.saved / "journal.sqlite"
        out = state / "rebuilt"
        rebuilt = [timed(lambda: write_report(journal, out))[0] for _ in range(3)]
        steps = len(result.status.get("steps", []))
        report = statistics.median(rebuilt)
        show(
            f"weekend report ({PROGRAMME.name}/{MUNICIPALITY}, {steps} steps)",
            {
                "rehearsal_s": wall,
                "report_in_rehearsal_s": result.seconds.get("report", 0.0),
                "report_rebuilt_s": report,
                "report_ratio": report / wall,
                "html_kb": (out / "report.html").stat().st_size / 1024,
                "pdf_kb": (out / "report.pdf").stat().st_size / 1024,
            },
        )
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
