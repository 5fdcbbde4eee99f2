"""Receipts rendered per second and bytes per PDF.

    python -m bench.bench_documents [--n 50]

Target (issue 3): ≤ 100 ms median per 80 mm receipt, ≤ 80 KB per PDF with the embedded
font subsets. Measures the whole `doc print --no-print` path (template check, context,
numbering, render, fsync'd save, log entry) and the renderer alone.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.common import new_station, row, timings
from station_app.documents.render import render_pdf
from station_app.domain.documents import DocKind
from station_app.domain.people import validate_person
from station_app.domain.states import CaseState
from station_app.domain.templates import fill_document
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.doc_templates import load_templates
from station_app.services.documents import issue_document

PERSON = validate_person(name="基准测试", cert_no="11010519491231002X", phone="13812341234",
                         address="青石镇东坑村3组12号")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    n = parser.parse_args().n
    folder = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    try:
        st = new_station(folder / "st")
        issue_document(st, DocKind.NOTICE_BOARD, print_it=False)  # fonts loaded once
        numbers = [add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=PERSON,
                                            materials=())).case_no for _ in range(n)]
        for case_no in numbers:
            move_case(st, case_no, CaseState.ACCEPTED)
        sizes: dict[str, list[int]] = {"receipt": [], "accept-notice": []}
        it = iter(numbers)

        def receipt() -> None:
            sizes["receipt"].append(
                issue_document(st, DocKind.RECEIPT, next(it), print_it=False).path.stat().st_size)

        receipts = timings(receipt, n)
        it = iter(numbers)

        def notice() -> None:
            sizes["accept-notice"].append(issue_document(
                st, DocKind.ACCEPT_NOTICE, next(it), print_it=False).path.stat().st_size)

        notices = timings(notice, n)
        tset = load_templates(DocKind.RECEIPT)
        spec = fill_document(tset.parts, {}, {}, paper="roll80", token="VSS1." + "x" * 185)
        bare = timings(lambda: render_pdf(spec, metadata={}), n)
        st.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("| document | median | p95 | runs |")
    print("|---|---|---|---|")
    print(row("收件回执, 80 mm roll: issue + render + save + log", receipts))
    print(row("受理通知书, A4: issue + render + save + log", notices))
    print(row("renderer alone (receipt layout, no data)", bare))
    print()
    for kind, values in sizes.items():
        print(f"{kind}: {statistics.median(values) / 1024:.1f} KB median, "
              f"{max(values) / 1024:.1f} KB max; {1 / statistics.median(receipts):.1f} "
              "receipts/s" if kind == "receipt" else
              f"{kind}: {statistics.median(values) / 1024:.1f} KB median, "
              f"{max(values) / 1024:.1f} KB max")


if __name__ == "__main__":
    main()
