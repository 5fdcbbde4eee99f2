"""The public rating page behind the 办结通知书's QR code (docs/evaluation-qr.md).

``GET /r/<token>`` shows the station, the item and the case number (never the applicant),
the five levels, the 差评 reasons and a comment box; ``POST /r/<token>`` stores the rating
once per case and number (首评, then at most ``MAX_FOLLOWUPS`` 追评) and, in the same
transaction, queues it for the station through the relay (kind ``evaluation``, sealed to the
station's KEM key, signed by the county's cosigner). The token is the capability: it is
signed by the station's log key, so no session, cookie or CSRF token is needed, and a page
for a forged or altered token says only that the code is not valid.

Framework-free (starlette lives in ``sync.county.app``): each call takes text or bytes and
returns a ``Page`` (status and HTML). Plain HTML and a few lines of CSS, no script, so it
works on a cheap phone's browser.
"""

from __future__ import annotations

import html
import json
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from station_app.crypto import signature_checker
from station_app.domain.badreview import DEFAULT_REASONS
from station_app.domain.clock import iso, local_day
from station_app.domain.evaluations import Channel, Level, evaluation_body
from station_app.domain.rating import MAX_FOLLOWUPS, BadRatingToken, RatingToken, parse_rating_token
from station_app.errors import StationError
from sync.county.service import County
from sync.county.store import StationRow, Tx
from sync.relay import EVALUATION

MAX_FORM_BYTES = 8 * 1024  # a 500-character comment, percent-encoded, is ~4.5 KiB
MAX_FIELDS = 20
RATE_WINDOW = 600.0  # seconds
RATE_LIMIT = 30  # requests per token per window, per server process
_RATE_KEYS = 10_000  # tokens remembered (oldest forgotten first)
_SCAN_PAGE = 5000  # entries read at a time
_ITEM_LOGS = 32  # logs whose item names are kept (≈ 2 MB for a year's log each)


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    html: str


@dataclass(frozen=True, slots=True)
class _Invitation:
    token: RatingToken
    station: StationRow  # the live key of the station: whom the rating is relayed to
    item: str
    earlier: int  # ratings already taken for the case


class RatingDesk:
    """The page and the form handler; one per server process."""

    def __init__(self, county: County) -> None:
        self.county, self.db = county, county.db
        self.now: Callable[[], datetime] = county.now
        self._lock = threading.Lock()
        self._hits: OrderedDict[str, list[float]] = OrderedDict()
        # origin → (entries scanned, case → item name), for the logs read most recently
        self._items: OrderedDict[str, tuple[int, dict[str, str]]] = OrderedDict()

    # ------------------------------------------------------------------ requests

    def show(self, text: str) -> Page:
        if not self._allowed(text):
            return _problem(429, "操作太频繁", "请稍后再试。")
        with self.db.read() as tx:
            found = self._invitation(tx, text)
        if isinstance(found, Page):
            return found
        return Page(200, _form_page(found, self.action(text)))

    def submit(self, text: str, body: bytes) -> Page:
        if not self._allowed(text):
            return _problem(429, "操作太频繁", "请稍后再试。")
        if len(body) > MAX_FORM_BYTES:
            return _problem(413, "提交的内容太长", "文字评价请不要超过500个字。")
        form = _parse_form(body)
        if isinstance(form, Page):
            return form
        now = self.now()
        with self.db.write() as tx:
            found = self._invitation(tx, text)
            if isinstance(found, Page):
                return found
            rating = _rating(form, found, now)
            if isinstance(rating, Page):
                return rating
            if not self._store(tx, found, rating, now):
                return _problem(409, "已经评价过", "这次评价已经提交过了，无需重复提交。")
        return Page(200, _done_page(found, rating))

    @staticmethod
    def action(text: str) -> str:
        return f"/r/{html.escape(text.strip(), quote=True)}"

    # ------------------------------------------------------------------ checking

    def _invitation(self, tx: Tx, text: str) -> _Invitation | Page:
        try:
            token = parse_rating_token(text)
        except BadRatingToken:
            return _invalid()
        keys = [s for s in tx.stations(token.station)
                if s.revoked_at is None or s.revoke_reason == "superseded"]
        if not any(signature_checker(s.log_public)(token.message(), token.signature)
                   for s in keys):
            return _invalid()  # forged or altered: as opaque as a malformed one
        if token.expired(local_day(self.now())):
            return _problem(410, "已过评价期限", "该二维码已过评价期限，如有意见请拨打服务站"
                                                "或监督投诉电话。")
        live = [s for s in keys if s.revoked_at is None]
        if not live:
            return _problem(410, "服务站已停用", "该服务站暂不能接收评价，请拨打监督投诉电话。")
        return _Invitation(token=token, station=live[-1],
                           item=self._item_name(tx, keys, token.case_no),
                           earlier=tx.qr_ratings(token.station, token.case_no))

    def _allowed(self, text: str) -> bool:
        key, moment = text.strip()[:200], time.monotonic()
        with self._lock:
            hits = [t for t in self._hits.pop(key, []) if moment - t < RATE_WINDOW]
            hits.append(moment)
            self._hits[key] = hits
            while len(self._hits) > _RATE_KEYS:
                self._hits.popitem(last=False)
        return len(hits) <= RATE_LIMIT

    def _item_name(self, tx: Tx, keys: list[StationRow], case_no: str) -> str:
        """The item's name from the case's ``case.created`` entry in the station's uploaded
        log (read once per process and log, then only the entries that arrived since)."""
        for st in keys:
            scanned, names = self._items.get(st.origin, (0, {}))
            if case_no not in names and scanned < st.size:
                names = dict(names)
                for start in range(scanned, st.size, _SCAN_PAGE):  # bounded memory
                    for _, data, _ in tx.entries(st.origin, start,
                                                 min(start + _SCAN_PAGE, st.size)):
                        _note_item(data, names)
                scanned = st.size
            with self._lock:
                self._items[st.origin] = (scanned, names)
                self._items.move_to_end(st.origin)
                while len(self._items) > _ITEM_LOGS:
                    self._items.popitem(last=False)
            if case_no in names:
                return names[case_no]
        return "（事项信息尚未同步到县级）"

    # ------------------------------------------------------------------ storing

    def _store(self, tx: Tx, found: _Invitation, rating: Mapping[str, str],
               now: datetime) -> bool:
        rating_id, token = secrets.token_hex(16), found.token
        if not tx.add_qr_rating(station=token.station, case_no=token.case_no,
                                assess=int(rating["assess"]), level=rating["level"],
                                reasons=rating["reasons"], comment=rating["comment"],
                                at=iso(now), rating_id=rating_id):
            return False
        self.county.send_from_county(tx, found.station, EVALUATION, {
            **rating, "rating_id": rating_id, "case_no": token.case_no,
            "received_at": iso(now)})
        return True


def _note_item(data: bytes, names: dict[str, str]) -> None:
    if b'"case.created"' not in data:
        return  # most entries: skipped without parsing
    try:  # checked when it was uploaded: the C parser is enough (and 10× faster)
        entry = json.loads(data)
    except ValueError:
        return
    body = entry.get("body") if isinstance(entry, dict) else None
    if entry.get("kind") == "case.created" and isinstance(body, dict) \
            and isinstance(body.get("item"), dict):
        names[str(body.get("case_no", ""))] = sys.intern(str(body["item"].get("name", "")))


def _parse_form(body: bytes) -> dict[str, list[str]] | Page:
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text),
                        max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return _problem(400, "提交的内容无法识别", "请返回重新填写。")


def _rating(form: Mapping[str, list[str]], found: _Invitation, now: datetime
            ) -> dict[str, str] | Page:
    """The rating as relayed, after the domain's own checks (差评 needs a reason or text)."""
    unknown = set(form) - {"level", "reasons", "comment", "assess"}
    single = [form.get(k, [""]) for k in ("level", "comment", "assess")]
    if unknown or any(len(v) != 1 for v in single):
        return _problem(400, "提交的内容无法识别", "请返回重新填写。")
    level_text, comment, assess = (v[0] for v in single)
    try:
        level = Level(level_text)
    except ValueError:
        return _problem(400, "请选择满意程度", "满意程度只能是非常满意、满意、基本满意、不满意或"
                                             "非常不满意。")
    reasons = form.get("reasons", [])
    if any(r not in DEFAULT_REASONS for r in reasons):
        return _problem(400, "差评原因无法识别", "请从列出的原因中选择。")
    if assess != str(found.earlier + 1):
        return _problem(409, "已经评价过", "这件事已经有了首次评价；如需追评，请重新扫码。")
    if found.earlier > MAX_FOLLOWUPS:
        return _problem(409, "评价次数已满", "这件事的首评和追评次数已满。")
    try:
        body = evaluation_body(subject=found.token.case_no, subject_kind="case", level=level,
                               channel=Channel.QR, at=now, earlier=found.earlier,
                               reasons=reasons, comment=comment, followup=found.earlier > 0)
    except StationError as error:
        return _problem(400, "评价未提交", error.text)
    return {"level": level.value, "reasons": "\n".join(body["reasons"]),
            "comment": body["comment"], "assess": str(body["assess_number"])}


# ---------------------------------------------------------------------- the HTML

_STYLE = """body{font-family:sans-serif;margin:0;padding:12px;max-width:560px;font-size:17px;
line-height:1.5;color:#222}h1{font-size:20px;margin:4px 0 12px}dl{margin:0 0 12px}
dt{color:#666;font-size:14px}dd{margin:0 0 6px}fieldset{border:1px solid #ccc;margin:0 0 12px;
padding:8px}label{display:block;padding:8px 2px}textarea{width:100%;box-sizing:border-box;
font-size:16px}button{width:100%;padding:12px;font-size:18px;background:#c0392b;color:#fff;
border:0;border-radius:4px}.note{color:#666;font-size:14px}"""


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def _facts(found: _Invitation) -> str:
    rows = (("服务站", found.station.name or found.token.station), ("办理事项", found.item),
            ("办件编号", found.token.case_no))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in rows) + "</dl>"


def _form_page(found: _Invitation, action: str) -> str:
    if found.earlier > MAX_FOLLOWUPS:
        return _document("评价次数已满", "<h1>评价次数已满</h1>" + _facts(found)
                         + "<p>这件事的首评和追评已经提交，感谢您的评价。</p>")
    kind = "追评" if found.earlier else "评价"
    levels = "".join(f"<label><input type=\"radio\" name=\"level\" value=\"{lv.value}\""
                     f"{' required' if i == 0 else ''}> {lv.label}</label>"
                     for i, lv in enumerate(Level))
    reasons = "".join(f"<label><input type=\"checkbox\" name=\"reasons\" "
                      f"value=\"{html.escape(r, quote=True)}\"> {html.escape(r)}</label>"
                      for r in DEFAULT_REASONS)
    body = (f"<h1>请对本次服务作出{kind}</h1>{_facts(found)}"
            f"<form method=\"post\" action=\"{action}\">"
            f"<input type=\"hidden\" name=\"assess\" value=\"{found.earlier + 1}\">"
            f"<fieldset><legend>满意程度</legend>{levels}</fieldset>"
            f"<fieldset><legend>不满意的原因（选择不满意时必填原因或文字）</legend>{reasons}"
            "</fieldset><p><label>文字评价（选填，500字以内）<textarea name=\"comment\" "
            "rows=\"4\" maxlength=\"500\"></textarea></label></p>"
            "<button type=\"submit\">提交评价</button></form>"
            "<p class=\"note\">评价为匿名提交，不收集姓名、电话等个人信息。不满意的，服务站将"
            "在规定时限内核实整改并回访。</p>")
    return _document(f"{kind}本次服务", body)


def _done_page(found: _Invitation, rating: Mapping[str, str]) -> str:
    label = Level(rating["level"]).label
    return _document("评价已提交", f"<h1>评价已提交，感谢您的反馈</h1>{_facts(found)}"
                     f"<p>您的评价：{html.escape(label)}</p>"
                     "<p class=\"note\">评价将在服务站下次同步时送达。</p>")


def _problem(status: int, title: str, detail: str) -> Page:
    return Page(status, _document(title, f"<h1>{html.escape(title)}</h1>"
                                         f"<p>{html.escape(detail)}</p>"))


def _invalid() -> Page:
    return _problem(404, "二维码无效", "无法识别该评价二维码，请核对后重新扫码，"
                                       "或拨打服务站电话评价。")
