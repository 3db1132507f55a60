"""The weekend report: a wave's journal as HTML and PDF for the change advisory board.

`view` is the one read-only reading of a journal (the live page reuses it), `planned` what the
runbook and the last rehearsal say the steps take, `charts` the pictures (matplotlib), `html`
and `pdf` the two renderings, `write` puts them in a run's folder, `hook` calls it after a run
without ever failing the run.
"""

from eendracht.report.view import JournalView, NotAJournal, open_view
from eendracht.report.write import ReportPaths, write_report

__all__ = ["JournalView", "NotAJournal", "ReportPaths", "open_view", "write_report"]
