"""Render one of every document for a demo station into docs/documents/ (PDF and PNG).

    python build_scripts/sample_documents.py

Needs poppler's pdftoppm for the PNGs (`apt-get install poppler-utils`). The demo data is
seeded, so reruns give the same cases; dates follow today's date.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station_app.domain.documents import DocKind  # noqa: E402
from station_app.services.demo import ensure_demo  # noqa: E402
from station_app.services.documents import issue_document  # noqa: E402
from station_app.services.station import Station  # noqa: E402
from station_app.store.queries import (  # noqa: E402
    CaseFilter,
    ProxyFilter,
    search_cases,
    search_proxies,
)

OUT = ROOT / "docs" / "documents"
CASE_STATE = {DocKind.RECEIPT: "RECEIVED", DocKind.ACCEPT_NOTICE: "IN_PROGRESS",
              DocKind.SUPPLEMENT_NOTICE: "SUPPLEMENT", DocKind.REJECT_NOTICE: "REJECTED",
              DocKind.FINISH_NOTICE: "FINISHED"}
PROXY_STATE = {DocKind.PROXY_SLIP: ("SUBMITTED", "REGISTERED"),
               DocKind.PROXY_DONE: ("DELIVERED", "RESULT_RECEIVED")}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="samples-"))
    try:
        ensure_demo(folder / "st", cases=40, seed=5)
        with Station.open(folder / "st", actor="王晓梅") as st:
            cases = {}
            for r in search_cases(st.db, CaseFilter(limit=1000, order="number")):
                cases.setdefault(r.state, r.case_no)
            proxies = {}
            for r in search_proxies(st.db, ProxyFilter(limit=1000)):
                proxies.setdefault(r.state, r.proxy_no)
            for kind in DocKind:
                subject = cases.get(CASE_STATE.get(kind, ""), "") or next(
                    (proxies[s] for s in PROXY_STATE.get(kind, ()) if s in proxies), "")
                pdf = OUT / f"{kind.value}.pdf"
                issue_document(st, kind, subject, print_it=False, out=pdf)
                subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf),
                                str(OUT / kind.value)], check=True)
                print(f"{kind.value:18} {kind.label}  {subject or '（站点）'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
