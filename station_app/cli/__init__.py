"""``station``: the command line over a station's data folder.

Every command works offline on the folder given by ``--data`` (or ``$STATION_DATA``, or the
per-user default). ``--json`` (before or after the command) switches output to JSON for
scripts. Errors print a Chinese line and an English line on stderr and exit with 1; a failed
``ledger verify`` exits with 3.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from station_app.cli.output import Output
from station_app.errors import FileInvalid, StationError
from station_app.services.clock import SystemClock
from station_app.services.paths import default_data_dir
from station_app.services.station import Station


@dataclass
class Context:
    data: Path
    actor: str
    out: Output = field(default_factory=Output)
    _station: Station | None = None

    def station(self) -> Station:
        if self._station is None:
            self._station = Station.open(self.data, clock=SystemClock(), actor=self.actor)
        return self._station

    def close(self) -> None:
        if self._station is not None:
            self._station.close()
            self._station = None


class StationGroup(click.Group):
    """Turns every StationError into the bilingual message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StationError as error:
            obj = ctx.find_object(Context)
            (obj.out if obj else Output()).fail(error)


def json_flag(func: Any) -> Any:
    """``--json`` accepted after the command as well as before it."""

    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Context).out.json = True

    return click.option("--json", "json_after", is_flag=True, expose_value=False,
                        callback=turn_on, help="输出 JSON / print JSON")(func)


def read_input_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FileInvalid(where=path, reason="：文件不存在") from None
    except OSError as exc:
        raise FileInvalid(where=path, reason=f"：无法读取（{exc.strerror}）") from None


pass_context = click.make_pass_decorator(Context)


@click.group(cls=StationGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
              help="站点数据目录 / data folder (default: $STATION_DATA or the user data folder)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@click.option("--actor", default="cli", envvar="STATION_ACTOR", show_default=True,
              help="记入账本的操作人 / who is acting, recorded in the log")
@click.version_option(package_name="station-app")
@click.pass_context
def cli(ctx: click.Context, data: Path | None, as_json: bool, actor: str) -> None:
    """便民服务站 · station ledger and case handling (offline)."""
    obj = ctx.ensure_object(Context)
    obj.data = data or default_data_dir()
    obj.actor = actor
    obj.out.json = obj.out.json or as_json
    ctx.call_on_close(obj.close)


def _register() -> None:
    from station_app.cli import (
        cmd_backup,
        cmd_calendar,
        cmd_case,
        cmd_catalog,
        cmd_doc,
        cmd_ledger,
        cmd_person,
        cmd_profile,
        cmd_proxy,
        cmd_recover,
        cmd_review,
        cmd_seven,
        cmd_station,
        cmd_sync,
        cmd_user,
    )

    for module in (cmd_station, cmd_catalog, cmd_calendar, cmd_case, cmd_proxy, cmd_person,
                   cmd_ledger, cmd_doc, cmd_profile, cmd_user, cmd_review, cmd_seven, cmd_sync,
                   cmd_backup):
        module.register(cli)

    from station_app.cli import cmd_notice  # 县级通知 (issue 7)

    cmd_notice.register(cli)
    from station_app.cli import cmd_board  # 公示栏 and 扫码评价 (issue 7)

    cmd_board.register(cli)
    cmd_recover.register(cli)  # recovery from a lost PC (issue 8)


_register()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="station", obj=Context(data=Path("."), actor="cli"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
