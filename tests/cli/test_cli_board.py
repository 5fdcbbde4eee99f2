"""``station board`` and ``station rating`` as a clerk or a script sees them
(docs/notice-board.md, docs/evaluation-qr.md)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import json_of, ledger_count, ok_json, run


def test_the_poster_follows_agents_and_chosen_items_from_the_command_line(
        initialised: Path) -> None:
    assert ok_json("board", "status", data=initialised)["state"] == "never"
    first = run("doc", "print", "--kind", "notice-board", "--no-print", data=initialised)
    assert first.returncode == 0, first.stderr
    assert ok_json("board", "status", data=initialised)["state"] == "current"

    added = run("agent", "add", "--name", "周志强", "--phone", "13905710044",
                "--village", "石桥村", data=initialised)
    assert added.returncode == 0 and "公示栏已更新，请打印张贴" in added.stdout
    status = ok_json("board", "status", data=initialised)
    assert status["state"] == "to-print" and Path(status["file"]).is_file()

    listed = ok_json("board", "items", data=initialised)
    assert listed["all"] and all(r["published"] for r in listed["items"])
    code = listed["items"][0]["code"]
    chosen = ok_json("board", "items", "--set", code, "--reason", "只公示一项", data=initialised)
    assert not chosen["all"] and chosen["poster"]
    assert [r["code"] for r in chosen["items"] if r["published"]] == [code]
    history = ok_json("board", "history", data=initialised)
    assert [v["version"] for v in history] == [1, 2, 3]
    assert history[1]["changed"]["agents"]["added"] == ["周志强（代办员，石桥村）"]
    assert history[2]["changed"]["items"]["added"] == []
    assert ok_json("board", "refresh", data=initialised)["regenerated"] is False

    size = ledger_count(initialised)
    refused = run("--json", "board", "items", "--set", "NO-SUCH", data=initialised)
    assert refused.returncode == 1 and "不在事项目录中" in json_of(refused)["error"]["message"]
    assert ledger_count(initialised) == size
    assert ok_json("rating", "list", data=initialised) == []
