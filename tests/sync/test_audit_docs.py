"""docs/audit.md names every KPI, finding code and threshold the code has."""

from __future__ import annotations

from pathlib import Path

from station_app.domain.audit import KPI_DEFINITIONS, AuditThresholds, FindingCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")


def test_every_kpi_is_defined_in_the_docs_with_its_numerator_and_denominator():
    for k in KPI_DEFINITIONS:
        assert f"| `{k.code}` | {k.name} | {k.numerator} | {k.denominator} |" in DOC


def test_every_finding_code_and_threshold_is_in_the_docs():
    for code in FindingCode:
        assert f"| `{code.value}` | {code.label} | {code.severity.value} |" in DOC
    for name, default in AuditThresholds().to_dict().items():
        assert f"| `{name}` | {default} |" in DOC
