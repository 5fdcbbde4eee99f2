"""Errors a user can hit, each with a stable code and a Chinese message.

Every class below declares ``code`` (stable, used by the CLI's ``--json`` output, the UI and
the README table) and ``message`` (a Chinese template filled from the keyword arguments given
when raising). ``message_en`` is the English twin the CLI prints underneath for operators.
``field`` names the form field an error belongs to, so the UI can show it next to that field.

    StationError
    ├── InvalidInput                 bad value typed or passed by a person
    │   ├── MissingField
    │   ├── ReentryRefused           a printed number offered for 补录 after a recovery
    │   ├── InvalidIdNumber
    │   ├── InvalidCreditCode
    │   ├── InvalidMobile
    │   ├── InvalidCertType
    │   ├── InvalidDate
    │   ├── InvalidStationCode
    │   └── FeeNotAllowed
    ├── FileInvalid                  an import file that cannot be used
    │   ├── CatalogFileInvalid
    │   ├── CalendarFileInvalid
    │   ├── TemplateInvalid
    │   └── PhotoInvalid             an evidence photo that is not a usable image
    │       └── PhotoTooLarge
    ├── NotFound
    │   ├── UnknownItem
    │   ├── CaseNotFound
    │   ├── ProxyEntryNotFound
    │   ├── PersonNotFound
    │   ├── BadReviewNotFound
    │   ├── TemplateMissing
    │   └── PrinterUnknown
    ├── RuleViolation                the request breaks a business rule
    │   ├── IllegalTransition
    │   ├── TransitionDetailRequired
    │   ├── ProxyNotAllowed
    │   ├── PersonErased
    │   ├── DocumentNotAllowed
    │   ├── SelfCheckExists          a month's 七有 self-check again, without a reason
    │   └── ReviewSettingsByCounty   差评整改 limits changed at a station the county sets them
    ├── CameraUnavailable            no webcam photo: OpenCV is not installed
    │   ├── CameraNotFound           no camera (or the configured source) to open
    │   ├── CameraReadFailed         opened, but no frame: busy in another program
    │   └── CameraDark               the frame is black: lens covered, lights off
    ├── PrintFailed                  the printer refused the job
    ├── SignInFailed                 wrong PIN, or an account locked after too many
    ├── SyncError                    the county link: enrollment, upload, download
    │   ├── NotEnrolled
    │   ├── AlreadyEnrolled
    │   ├── EnrollRefused
    │   ├── CountyUnreachable
    │   │   └── EnrollUnreachable
    │   ├── SyncRefused
    │   ├── AuditUnreachable     the county dashboard cannot reach its server
    │   ├── AuditRefused         … or the server refused (token, scope, input)
    │   ├── HistoryConflict
    │   ├── RecoveryRefused
    │   ├── RecoveryFolderNotEmpty
    │   └── SyncFileInvalid
    ├── CountyError                  the county server's own folder, keys and database
    │   ├── CountyExists
    │   ├── CountyMissing
    │   ├── CountyKeysInvalid
    │   ├── CountyDatabaseUnavailable
    │   ├── CountyDatabaseNewer      upgraded by a newer county server program
    │   ├── ReplaceRefused
    │   └── CountyStationUnknown
    ├── ExportFailed                 an export (workbook, CSV, PDF report) cannot be written
    ├── BackupError                  an encrypted backup could not be written or checked
    │   ├── BackupFileInvalid        not a backup, truncated or damaged
    │   ├── BackupPassphraseWrong
    │   └── RestoreTargetNotEmpty
    └── DataFolderError              the data folder itself is unusable
        ├── DataFolderMissing
        ├── StationExists
        ├── DataFolderVersion
        │   └── DataFolderNewer      upgraded by a newer version of the program
        ├── DataFolderCorrupt
        ├── KeysMissing
        └── DiskFull
    CryptoFailure                    deliberately opaque: never says which check failed
"""

from __future__ import annotations

from typing import Any, ClassVar


class StationError(Exception):
    """Root of every error a user of the station app can meet."""

    code: ClassVar[str] = "STATION_ERROR"
    message: ClassVar[str] = "操作未能完成"
    message_en: ClassVar[str] = "the operation could not be completed"

    def __init__(self, field: str | None = None, **params: Any) -> None:
        self.field = field
        self.params = params
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return _fill(self.message, self.params)

    @property
    def text_en(self) -> str:
        return _fill(self.message_en, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.text, "message_en": self.text_en,
                "field": self.field}


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


# ---------------------------------------------------------------- bad input


class InvalidInput(StationError):
    code = "INPUT_INVALID"
    message = "{label}填写有误：{reason}"
    message_en = "invalid {label}: {reason}"


class MissingField(InvalidInput):
    code = "FIELD_REQUIRED"
    message = "请填写{label}"
    message_en = "{label} is required"


class ReentryRefused(InvalidInput):
    """A printed number offered for 补录 that the station may not take (docs/recovery.md)."""

    code = "REENTRY_NUMBER_REFUSED"
    message = "不能按编号“{number}”补录{label}：{reason}；未写入任何数据"
    message_en = "cannot re-enter {label} with number {number}: {reason}"


class InvalidIdNumber(InvalidInput):
    code = "ID_NUMBER_INVALID"
    message = "身份证号码有误：{reason}"
    message_en = "invalid ID number: {reason}"


class InvalidCreditCode(InvalidInput):
    code = "CREDIT_CODE_INVALID"
    message = "统一社会信用代码有误：{reason}"
    message_en = "invalid unified social credit code: {reason}"


class InvalidMobile(InvalidInput):
    code = "MOBILE_INVALID"
    message = "手机号码有误：{reason}"
    message_en = "invalid mobile number: {reason}"


class InvalidCertType(InvalidInput):
    code = "CERT_TYPE_INVALID"
    message = "证件类型代码“{value}”不在 GA/T 2000.156 常用证件代码表中"
    message_en = "certificate type code {value!r} is not in GA/T 2000.156"


class InvalidDate(InvalidInput):
    code = "DATE_INVALID"
    message = "{label}“{value}”不是有效的日期或时间"
    message_en = "{label} {value!r} is not a valid date or time"


class InvalidStationCode(InvalidInput):
    code = "STATION_CODE_INVALID"
    message = "站点编码“{value}”有误：应为 6–20 位数字或大写字母"
    message_en = "station code {value!r} must be 6-20 digits or capital letters"


class FeeNotAllowed(InvalidInput):
    code = "PROXY_FEE_FORBIDDEN"
    message = "代办服务全程免费，不得收取任何费用（填写的金额：{amount}）"
    message_en = "proxy service is free of charge; a fee of {amount} cannot be recorded"


# ---------------------------------------------------------------- import files


class FileInvalid(StationError):
    code = "FILE_INVALID"
    message = "文件无法导入：{where}{reason}"
    message_en = "file cannot be imported: {where}{reason}"


class CatalogFileInvalid(FileInvalid):
    code = "CATALOG_FILE_INVALID"
    message = "事项目录文件有误：{where} {reason}"
    message_en = "catalog file is invalid: {where} {reason}"


class CalendarFileInvalid(FileInvalid):
    code = "CALENDAR_FILE_INVALID"
    message = "节假日文件有误：{where} {reason}"
    message_en = "holiday calendar file is invalid: {where} {reason}"


class TemplateInvalid(FileInvalid):
    code = "TEMPLATE_INVALID"
    message = "文书模板有误：{where} {reason}"
    message_en = "document template is invalid: {where} {reason}"


class PhotoInvalid(FileInvalid):
    code = "PHOTO_INVALID"
    message = "照片“{where}”无法使用：{reason}"
    message_en = "photo {where} cannot be used: {reason_en}"


class PhotoTooLarge(PhotoInvalid):
    code = "PHOTO_TOO_LARGE"
    message = "照片“{where}”太大（{size_mb} MB），最大 {limit_mb} MB，请换一张或先缩小"
    message_en = "photo {where} is too large ({size_mb} MB; at most {limit_mb} MB)"


# ---------------------------------------------------------------- lookups


class NotFound(StationError):
    code = "NOT_FOUND"
    message = "未找到：{value}"
    message_en = "not found: {value}"


class UnknownItem(NotFound):
    code = "ITEM_UNKNOWN"
    message = "事项目录中没有“{value}”，请先导入或核对事项编码"
    message_en = "no service item {value!r} in the catalog"


class CaseNotFound(NotFound):
    code = "CASE_NOT_FOUND"
    message = "没有办件编号为“{value}”的办件"
    message_en = "no case numbered {value!r}"


class ProxyEntryNotFound(NotFound):
    code = "PROXY_NOT_FOUND"
    message = "没有代办序号为“{value}”的代办记录"
    message_en = "no proxy entry numbered {value!r}"


class PersonNotFound(NotFound):
    code = "PERSON_NOT_FOUND"
    message = "没有找到该人员的记录"
    message_en = "no such person on record"


class BadReviewNotFound(NotFound):
    code = "BAD_REVIEW_NOT_FOUND"
    message = "没有编号为“{value}”的差评整改记录"
    message_en = "no bad-review follow-up numbered {value!r}"


class TemplateMissing(NotFound):
    code = "TEMPLATE_MISSING"
    message = "找不到文书模板“{value}”（模板目录：{path}）"
    message_en = "no document template {value!r} in {path}"


class PrinterUnknown(NotFound):
    code = "PRINTER_UNKNOWN"
    message = "找不到打印机“{value}”，可用的打印机：{available}"
    message_en = "no printer named {value!r}; available: {available}"


# ---------------------------------------------------------------- business rules


class RuleViolation(StationError):
    code = "RULE_VIOLATION"
    message = "不符合办理规则：{reason}"
    message_en = "not allowed: {reason}"


class IllegalTransition(RuleViolation):
    code = "TRANSITION_ILLEGAL"
    message = "{what}“{number}”当前为“{current}”，不能变更为“{target}”"
    message_en = "{what_en} {number} is {current_en}; it cannot move to {target_en}"


class TransitionDetailRequired(RuleViolation):
    code = "TRANSITION_DETAIL_REQUIRED"
    message = "变更为“{target}”时必须填写{label}"
    message_en = "moving to {target_en} requires {label_en}"


class ProxyNotAllowed(RuleViolation):
    code = "ITEM_PROXY_NOT_ALLOWED"
    message = "事项“{item}”不在可代办范围内"
    message_en = "service item {item!r} cannot be handled by proxy"


class PersonErased(RuleViolation):
    code = "PERSON_ERASED"
    message = "该人员的个人信息已依法删除，无法查看或使用"
    message_en = "this person's personal data has been erased"


class DocumentNotAllowed(RuleViolation):
    code = "DOCUMENT_NOT_ALLOWED"
    message = "{subject}当前为“{state}”，不能出具{title}：{reason}"
    message_en = "{subject_en} is {state_en}; a {kind} cannot be issued for it"


class SelfCheckExists(RuleViolation):
    code = "SEVEN_CHECK_EXISTS"
    message = "{month} 已做过七有自查；如需更正，请填写更正原因后重新提交"
    message_en = "the seven-haves self-check for {month} exists; a correction needs a reason"


class ReviewSettingsByCounty(RuleViolation):
    code = "REVIEW_SETTINGS_BY_COUNTY"
    message = ("差评整改期限和原因选项由县级统一发布（第 {version} 版），本站不能修改；"
               "如需调整，请联系县级管理员重新发布")
    message_en = ("the bad-review limits and reason options are set by the county "
                  "(publication {version}); only the county can change them")


class CameraUnavailable(StationError):
    code = "CAMERA_UNAVAILABLE"
    message = "无法使用摄像头：{reason}"
    message_en = "the camera cannot be used: OpenCV is not installed"


class CameraNotFound(CameraUnavailable):
    code = "CAMERA_NOT_FOUND"
    message = "没有找到可用的摄像头（{source}）：请检查摄像头是否已连接，或从文件选择照片"
    message_en = "no camera found ({source_en})"


class CameraReadFailed(CameraUnavailable):
    code = "CAMERA_READ_FAILED"
    message = ("摄像头（{source}）{reason}：可能正被其他程序占用或已断开，"
               "请关闭其他使用摄像头的程序后重试")
    message_en = "the camera ({source_en}) gives no picture: {reason_en}; busy or unplugged?"


class CameraDark(CameraUnavailable):
    code = "CAMERA_DARK"
    message = "摄像头（{source}）拍到的画面全黑：请检查镜头是否被遮挡、光线是否太暗，然后重拍"
    message_en = "the camera ({source_en}) gives a black picture: lens covered or too dark"


class PrintFailed(StationError):
    code = "PRINT_FAILED"
    message = "打印失败：{reason}。文书未记为已打印"
    message_en = "printing failed: {reason}; nothing was recorded as printed"


class SignInFailed(StationError):
    code = "SIGN_IN_FAILED"
    message = "PIN 码不正确，还可以再试 {left} 次"
    message_en = "wrong PIN; {left} attempts left"


class AccountLocked(SignInFailed):
    code = "ACCOUNT_LOCKED"
    message = "连续输错 PIN 码次数过多，请 {minutes} 分钟后再试，或请管理员重置"
    message_en = "too many wrong PINs; try again in {minutes} minutes or ask an admin"


# ---------------------------------------------------------------- data folder


class DataFolderError(StationError):
    code = "DATA_FOLDER_ERROR"
    message = "数据目录不可用：{path}"
    message_en = "data folder unusable: {path}"


class DataFolderMissing(DataFolderError):
    code = "DATA_FOLDER_MISSING"
    message = "数据目录“{path}”中还没有站点，请先初始化（station init）"
    message_en = "no station in {path}; run `station init` first"


class StationExists(DataFolderError):
    code = "STATION_EXISTS"
    message = "数据目录“{path}”中已有站点“{name}”，不能重复初始化"
    message_en = "{path} already holds station {name!r}"


class DataFolderVersion(DataFolderError):
    code = "DATA_FOLDER_VERSION"
    message = ("数据目录“{path}”属于其他版本的程序（{found}），"
               "本程序支持 {supported}，请使用对应版本的程序打开")
    message_en = ("{path} was written by another version ({found}); "
                  "this program supports {supported}")


class DataFolderNewer(DataFolderVersion):
    code = "DATA_FOLDER_NEWER"
    message = ("数据目录“{path}”已由较新版本的程序（{found} 版）打开并升级，本程序是 {ours} 版，"
               "不能打开，以免损坏数据。请安装 {found} 或更高版本的程序；未做任何改动")
    message_en = ("{path} was upgraded by a newer program ({found}); this is {ours}, which "
                  "cannot open it; install {found} or later. Nothing was changed")


class DataFolderCorrupt(DataFolderError):
    code = "DATA_FOLDER_CORRUPT"
    message = "数据目录“{path}”中的数据库已损坏：{reason}"
    message_en = "the database in {path} is damaged: {reason}"


class KeysMissing(DataFolderError):
    code = "KEYS_MISSING"
    message = "找不到站点密钥文件“{path}”，无法签名或解密，请从备份恢复"
    message_en = "station key file {path} is missing; restore it from a backup"


class DiskFull(DataFolderError):
    code = "DISK_FULL"
    message = "磁盘空间不足，本次记录未保存，已有记录完好"
    message_en = "disk full: nothing was saved and existing records are intact"


# --------------------------------------------------------------------------- sync


class SyncError(StationError):
    code = "SYNC_FAILED"
    message = "与县级服务器同步未完成：{reason}"
    message_en = "sync with the county did not complete: {reason}"


class NotEnrolled(SyncError):
    code = "SYNC_NOT_ENROLLED"
    message = "本站尚未在县级服务器注册，请先用县里发的注册码注册（station enroll）"
    message_en = "this station is not enrolled with a county server; run `station enroll`"


class AlreadyEnrolled(SyncError):
    code = "SYNC_ALREADY_ENROLLED"
    message = "本站已在“{county}”注册（{server}），不能重复注册"
    message_en = "this station is already enrolled with {county} ({server})"


class EnrollRefused(SyncError):
    code = "SYNC_ENROLL_REFUSED"
    message = "注册码无效、已使用或已过期，请向县级管理员重新申请注册码"
    message_en = "the enrollment code is invalid, used or expired; ask the county for a new one"


class CountyUnreachable(SyncError):
    code = "SYNC_UNREACHABLE"
    message = "连不上县级服务器“{server}”（{reason}），记录已安全保存在本机，联网后会自动同步"
    message_en = "cannot reach the county server {server} ({reason}); records are safe locally"


class EnrollUnreachable(CountyUnreachable):
    code = "SYNC_ENROLL_UNREACHABLE"
    message = "连不上县级服务器“{server}”（{reason}），请核对服务器地址和网络后再注册"
    message_en = "cannot reach the county server {server} ({reason}); check the address"


class SyncRefused(SyncError):
    code = "SYNC_REFUSED"
    message = "县级服务器拒绝了本次同步：{reason}"
    message_en = "the county server refused this sync: {reason}"


class AuditUnreachable(SyncError):
    """The county dashboard (county-auditor role) cannot reach its server."""

    code = "AUDIT_UNREACHABLE"
    message = "连不上县级服务器“{server}”（{reason}），请检查网络和服务器地址后重试"
    message_en = "cannot reach the county server {server} ({reason}); check the network"


class AuditRefused(SyncError):
    """The county server refused a dashboard request (bad token, out of scope, bad input)."""

    code = "AUDIT_REFUSED"
    message = "县级服务器拒绝了请求：{reason}"
    message_en = "the county server refused the request: {reason}"


class HistoryConflict(SyncError):
    code = "SYNC_HISTORY_CONFLICT"
    message = ("本机账本与县级已确认的记录不一致（{reason}），已停止同步，"
               "请勿再修改数据，立即联系县级管理员核查")
    message_en = ("this station's log differs from what the county acknowledged ({reason}); "
                  "sync stopped, contact the county")


class RecoveryRefused(SyncError):
    code = "SYNC_RECOVERY_REFUSED"
    message = "无法从县级恢复本站记录：{reason}；本机未写入任何数据"
    message_en = "cannot recover the station's records from the county: {reason_en}"


class RecoveryUnreachable(CountyUnreachable):
    """The county went away during a replacement PC's recovery (the app's first run)."""

    code = "SYNC_RECOVERY_UNREACHABLE"
    message = ("连不上县级服务器“{server}”（{reason}），请核对服务器地址和网络后重试；"
               "本机数据目录没有改动")
    message_en = "cannot reach the county server {server} ({reason}); nothing was changed"


class RecoveryFolderNotEmpty(SyncError):
    code = "SYNC_RECOVERY_FOLDER_NOT_EMPTY"
    message = "目录“{path}”中已有数据，恢复只能写入新的空目录"
    message_en = "{path} is not empty; recover into a new, empty folder"


class SyncFileInvalid(SyncError):
    code = "SYNC_FILE_INVALID"
    message = "同步文件“{path}”无法使用：{reason}"
    message_en = "sync file {path} cannot be used: {reason}"


# ------------------------------------------------------------------ county server


class CountyError(StationError):
    code = "COUNTY_ERROR"
    message = "县级服务器操作未完成：{reason}"
    message_en = "the county server operation did not complete: {reason}"


class CountyExists(CountyError):
    code = "COUNTY_EXISTS"
    message = "目录“{path}”中已有县级服务器“{name}”（{code}），不能重复初始化"
    message_en = "{path} already holds the county server {name!r} ({code})"


class CountyMissing(CountyError):
    code = "COUNTY_MISSING"
    message = "目录“{path}”中还没有县级服务器，请先初始化（county init）"
    message_en = "no county server in {path}; run `county init` first"


class CountyKeysInvalid(CountyError):
    code = "COUNTY_KEYS_INVALID"
    message = "县级密钥文件“{path}”不可用：{reason}"
    message_en = "county key file {path} cannot be used: {reason_en}"


class CountyDatabaseUnavailable(CountyError):
    code = "COUNTY_DB_UNAVAILABLE"
    message = "无法打开县级数据库“{url}”：{reason}"
    message_en = "cannot open the county database {url}: {reason}"


class CountyDatabaseNewer(CountyError):
    code = "COUNTY_DB_NEWER"
    message = ("县级数据库“{url}”已由较新版本的程序升级（{found}），本程序是 {ours}，"
               "不能打开，以免损坏数据。请安装较新版本的县级服务器程序；未做任何改动")
    message_en = ("the county database {url} was upgraded by a newer program ({found}); "
                  "this is {ours}; install the newer county server. Nothing was changed")


class ReplaceRefused(CountyError):
    code = "COUNTY_REPLACE_REFUSED"
    message = ("站点“{value}”在县级还没有已确认的记录，没有可恢复的内容，"
               "请按新站注册（county enroll）")
    message_en = "station {value} has no acknowledged records to recover; enroll it as new"


class CountyStationUnknown(CountyError):
    code = "COUNTY_STATION_UNKNOWN"
    message = "县级服务器上没有站点“{value}”的有效注册（未注册或已吊销）"
    message_en = "the county has no live enrollment for station {value}"


class ExportFailed(StationError):
    code = "EXPORT_FAILED"
    message = "无法导出到“{path}”：{reason}。未写入任何文件"
    message_en = "cannot export to {path}: {reason_en}; nothing was written"


class BackupError(StationError):
    code = "BACKUP_FAILED"
    message = "数据备份未完成：{reason}"
    message_en = "the backup did not complete: {reason_en}"


class BackupFileInvalid(BackupError):
    code = "BACKUP_FILE_INVALID"
    message = "备份文件“{path}”无法使用：{reason}。未恢复任何数据"
    message_en = "backup file {path} cannot be used: {reason_en}; nothing was restored"


class BackupPassphraseWrong(BackupError):
    code = "BACKUP_PASSPHRASE_WRONG"
    message = "备份口令不正确（或备份文件的文件头已被改动），未恢复任何数据"
    message_en = "wrong backup passphrase (or the file header was altered); nothing restored"


class RestoreTargetNotEmpty(BackupError):
    code = "RESTORE_TARGET_NOT_EMPTY"
    message = ("目标数据目录“{path}”不是空的，恢复不会覆盖已有数据；"
               "请指定一个新的空目录，或先把该目录改名保存")
    message_en = "the target data folder {path} is not empty; restore never overwrites data"


class CryptoFailure(StationError):
    """Raised for every failure to open sealed data or check a token, whatever the cause."""

    code = "CRYPTO_FAILED"
    message = "数据无法解密或验证"
    message_en = "the data could not be decrypted or verified"


def all_error_classes() -> list[type[StationError]]:
    """Every error class, root first, in definition order (used by docs and tests)."""
    seen: list[type[StationError]] = []

    def walk(cls: type[StationError]) -> None:
        seen.append(cls)
        for sub in cls.__subclasses__():
            walk(sub)

    walk(StationError)
    return seen
