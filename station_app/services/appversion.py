"""The county's minimum program version and the warning below it (docs/upgrades.md).

The county publishes ``{"min_version": …, "notice": …}`` as its signed ``app`` collection;
the station logs it (``app.requirement``, citing the publication) and keeps it beside its
sync state. A station whose program is older keeps working — refusing to record a case
would only push the work onto paper — and says so on 首页 and after every sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from station_app.domain.versions import APP_VERSION, AppRequirement, is_older
from station_app.services.station import Station, Transaction
from station_app.store.publications import app_requirement, set_app_requirement

APP_ENTRY = "app.requirement"


@dataclass(frozen=True, slots=True)
class UpdateWarning:
    ours: str
    min_version: str
    notice: str

    @property
    def text(self) -> str:
        head = (f"县级要求使用 {self.min_version} 或更高版本的程序，本机是 {self.ours} 版，"
                "请尽快联系县级管理员升级")
        return f"{head}。{self.notice}" if self.notice else head

    def as_dict(self) -> dict[str, Any]:
        return {"ours": self.ours, "min_version": self.min_version, "notice": self.notice,
                "message": self.text}


def record_app_requirement(tx: Transaction, requirement: AppRequirement,
                           publication: dict[str, Any]) -> None:
    """Inside the transaction that applies the county's ``app`` publication."""
    tx.append(APP_ENTRY, {**requirement.to_content(), "publication": publication})
    set_app_requirement(tx.db, requirement)


def app_update_warning(station: Station, version: str = APP_VERSION) -> UpdateWarning | None:
    """The warning to show, if the county asks for a newer program than ``version``."""
    requirement = app_requirement(station.db)
    if requirement is None or not is_older(version, requirement.min_version):
        return None
    return UpdateWarning(version, requirement.min_version, requirement.notice)
