"""Takes docs/reports.png and docs/supervisor.png, the README's pictures of the supervisor's
Reports view (with the demo history's complaint alert) and Conversations list (1440×900).

    .venv/bin/python tests/browser/screenshot_reports.py [folder]

Runs the cluster-alert test of tests/browser/test_reports.py over the whole demo history
(eight weeks, as `storechat demo-data` writes it); the pictures are skipped on ordinary runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "docs").resolve()
    os.environ["STORECHAT_REPORTS_SCREENSHOTS"] = str(folder)
    os.chdir(REPO)
    code = pytest.main(["-q", "-p", "no:cacheprovider",
                        "tests/browser/test_reports.py::test_the_cluster_alert_names_the_defect_and_opens_its_cases"])
    if code == 0:
        print(f"wrote {folder / 'reports.png'} and {folder / 'supervisor.png'}")
    sys.exit(code)
