"""``station doc print|verify|list|templates``: receipts and notices."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.cmd_ledger import public_key_option
from station_app.cli.output import EXIT_VERIFY_FAILED, table
from station_app.domain.documents import DocKind, parse_kind
from station_app.errors import DataFolderMissing, InvalidInput
from station_app.services.doc_templates import (
    check_all,
    published_templates,
    templates_dir,
    templates_origin,
)
from station_app.services.doc_verify import verify_pdf, verify_token
from station_app.services.documents import issue_document
from station_app.store.queries import documents_about


def register(cli: click.Group) -> None:
    cli.add_command(doc)


@click.group()
def doc() -> None:
    """文书：回执、通知书、公示栏 / receipts and notices."""


@doc.command("print")
@click.argument("subject", required=False, default="")
@click.option("--kind", required=True, help="文书种类：" + "、".join(k.value for k in DocKind))
@click.option("--printer", help="打印机名称（默认：站点设置或系统默认打印机）")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="PDF 保存位置 / where to save the PDF")
@click.option("--paper", type=click.Choice(["a4", "roll80"]), help="纸张（默认由模板决定）")
@click.option("--no-print", is_flag=True, help="只生成 PDF，不送打印机 / save only")
@json_flag
@pass_context
def print_(obj: Context, subject: str, kind: str, printer: str | None, out: Path | None,
           paper: str | None, no_print: bool) -> None:
    """出具并打印文书（办件编号或代办序号；公示栏不需要）/ issue and print a document."""
    chosen = parse_kind(kind)
    if chosen.subject != "station" and not subject:
        raise InvalidInput(field="subject", label="办件编号或代办序号", reason="请填写")
    issued = issue_document(obj.station(), chosen, subject, paper=paper, printer=printer,
                            out=out, print_it=not no_print)
    where = (f"已送打印机“{issued.printer}”" if issued.printer
             else "未送打印机（没有可用的打印机，或选择了只保存）")
    obj.out.emit(
        {"ok": True, "doc_id": issued.doc_id, "doc_no": issued.doc_no, "kind": chosen.value,
         "subject": issued.subject, "copy": issued.copy, "reprint": issued.reprint,
         "file": str(issued.path), "printer": issued.printer, "job": issued.job,
         "pdf_sha256": issued.pdf_sha256, "token": issued.token},
        lambda: f"{chosen.label} {issued.doc_no}（第 {issued.copy} 份"
                f"{'，补打' if issued.reprint else ''}）\n{where}\nPDF 已保存：{issued.path}")


@doc.command("verify")
@click.option("--token", help="二维码中的核验码 / the token from the QR code")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path),
              help="要核验的 PDF 文件 / a PDF file to check")
@public_key_option
@json_flag
@pass_context
def verify(obj: Context, token: str | None, pdf: Path | None, public_key: bytes | None) -> None:
    """离线核验文书真伪 / check a document offline."""
    if bool(token) == bool(pdf):
        raise InvalidInput(field="token", label="核验对象", reason="请给出 --token 或 --pdf 之一")
    station = obj.station()
    check = verify_token(station, token, public_key) if token else \
        verify_pdf(station, pdf, public_key)  # type: ignore[arg-type]
    obj.out.emit(check.as_dict(), lambda: ("核验通过：" if check.ok else "核验失败：")
                 + check.reason + f"\n{'OK' if check.ok else 'FAILED'}: {check.reason_en}")
    if not check.ok:
        sys.exit(EXIT_VERIFY_FAILED)


@doc.command("list")
@click.argument("subject", required=False)
@json_flag
@pass_context
def list_(obj: Context, subject: str | None) -> None:
    """已出具的文书 / documents issued (for one case, or all)."""
    docs = documents_about(obj.station().db, subject.strip().upper() if subject else None)
    rows = [{"doc_id": d.doc_id, "doc_no": d.doc_no, "kind": d.kind, "subject": d.subject,
             "issued_on": d.issued_on, "issued_by": d.issued_by, "copies": d.copies}
            for d in docs]
    obj.out.emit(rows, lambda: table(
        [[r["doc_no"], DocKind(r["kind"]).label, r["subject"], r["issued_on"], str(r["copies"])]
         for r in rows], ["文书编号", "种类", "办件/代办", "出具日期", "份数"]))


@doc.command("templates")
@json_flag
@pass_context
def templates(obj: Context) -> None:
    """检查全部文书模板（含县级发布的）/ check every template in force."""
    try:
        station = obj.station()
    except DataFolderMissing:  # an officer checking a template folder, no station here
        station = None
    published = published_templates(station) if station else None
    origin = templates_origin(station) if station else f"模板目录：{templates_dir()}"
    versions = check_all(published=published)
    obj.out.emit({"ok": True, "folder": str(templates_dir()), "origin": origin,
                  "publication": published.publication if published else None,
                  "versions": versions},
                 lambda: origin + "\n" + "\n".join(
                     f"  {k}  版本 {v}  ✓" for k, v in versions.items()))
