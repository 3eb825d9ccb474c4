"""`yiwang simulate --effect NAME=VALUE`: parsed, validated with a clear error, recorded in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from yiwang.cli import main


def test_effect_goes_into_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "sources"
    r = CliRunner().invoke(
        main,
        ["simulate", "--scale", "small", "--out", str(out), "--effect", "joint_mechanism_complaint_drop=0.3"],
    )
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["effects"]["config"]["joint_mechanism_complaint_drop"] == 0.3
    assert manifest["effects"]["joint_mechanism"]["drop_share"] == 0.3


def test_unknown_or_malformed_effect_is_a_clear_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path), "--effect", "more_sunshine=1"])
    assert r.exit_code == 2
    assert "unknown effects" in r.output and "joint_mechanism_complaint_drop" in r.output
    r = CliRunner().invoke(
        main, ["simulate", "--out", str(tmp_path), "--effect", "joint_mechanism_complaint_drop"]
    )
    assert r.exit_code == 2 and "NAME=VALUE" in r.output
    r = CliRunner().invoke(
        main, ["simulate", "--out", str(tmp_path), "--effect", "joint_mechanism_complaint_drop=2"]
    )
    assert r.exit_code == 2 and "[0, 1)" in r.output
    assert not (tmp_path / "manifest.json").exists()
