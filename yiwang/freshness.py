"""Source freshness: per-system thresholds from sources.yaml, checked by ``dbt source freshness``.

``sources.yaml`` is the one source of truth: ``freshness_hours`` of a system (``Settings.freshness_hours``) is
its error threshold (raw older than that is stale: the build stops), and half of it the warning threshold.
They reach dbt as the vars ``freshness_<system>_warn_hours`` / ``freshness_<system>_error_hours`` that the
generated ``_<system>__sources.yml`` files read (the defaults in ``dbt_project.yml`` apply only to systems
sources.yaml does not configure, e.g. reference). The build DAG runs :func:`check_freshness` before dbt build.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yiwang.dbt_runner import DbtRunError, default_target, run_dbt
from yiwang.settings import Settings, get_settings


class StaleSourcesError(RuntimeError):
    """One or more systems' raw data is older than its freshness threshold; the message names them."""

    def __init__(self, result: FreshnessResult) -> None:
        self.result = result
        super().__init__(result.summary())


@dataclass
class FreshnessResult:
    stale: dict[str, list[str]] = field(
        default_factory=dict
    )  # system -> "raw_x.t: 30.0 h old (error after 24 h)"
    warned: dict[str, list[str]] = field(default_factory=dict)
    checked: int = 0
    path: str | None = None

    @property
    def success(self) -> bool:
        return not self.stale

    def summary(self) -> str:
        if self.success:
            warn = f"; warnings: {', '.join(sorted(self.warned))}" if self.warned else ""
            return f"source freshness: {self.checked} raw tables fresh{warn}"
        lines = [f"source freshness: stale system(s): {', '.join(sorted(self.stale))}"]
        for system, items in sorted(self.stale.items()):
            lines += [f"  {system}: {i}" for i in items]
        return "\n".join(lines)


def freshness_vars(settings: Settings | None = None) -> dict[str, float]:
    """dbt vars from sources.yaml: error after ``freshness_hours``, warn after half of it."""
    settings = settings or get_settings()
    out: dict[str, float] = {}
    for system, hours in sorted(settings.freshness_hours.items()):
        out[f"freshness_{system}_error_hours"] = hours
        out[f"freshness_{system}_warn_hours"] = max(hours / 2, 1)
    return out


def freshness_target_path(settings: Settings, target: str | None = None) -> Path:
    """dbt's target path for ``dbt source freshness``: under YIWANG_HOME, per profiles.yml target and per
    ``DBT_TARGET_PATH`` (parallel test workers keep their own), never shared with another dbt command."""
    name = Path(os.environ.get("DBT_TARGET_PATH") or "target").name
    return settings.home / "cache" / "dbt_freshness" / (target or default_target(settings)) / name


def _parse(path: Path, thresholds: dict[str, float]) -> FreshnessResult:
    doc = json.loads(path.read_text(encoding="utf-8"))
    res = FreshnessResult(path=str(path))
    for r in doc.get("results", []):
        uid = str(r.get("unique_id", ""))  # source.yiwang.<system>.<table>
        parts = uid.split(".")
        system, table = (parts[2], parts[3]) if len(parts) >= 4 else (uid, "?")
        status = str(r.get("status"))
        res.checked += 1
        age = r.get("max_loaded_at_time_ago_in_s")
        limit = thresholds.get(f"freshness_{system}_error_hours")
        what = (
            f"raw_{system}.{table}: "
            + (
                f"last loaded {float(age) / 3600:.1f} h ago"
                if age is not None
                else "never loaded / not found"
            )
            + (f" (error after {limit:g} h)" if limit else "")
        )
        if status in ("error", "runtime error"):
            res.stale.setdefault(system, []).append(
                what if status == "error" else f"{what}: {str(r.get('message') or '')[:200]}"
            )
        elif status == "warn":
            res.warned.setdefault(system, []).append(what)
    return res


def check_freshness(
    settings: Settings | None = None,
    *,
    raise_on_failure: bool = True,
    target: str | None = None,
    output: Path | None = None,
    project_dir: Path | None = None,
) -> FreshnessResult:
    """Run ``dbt source freshness`` with the thresholds of sources.yaml; raise :class:`StaleSourcesError`
    naming every stale system."""

    settings = settings or get_settings()
    out = Path(output or settings.site_dir / "dbt" / "sources.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    dvars = freshness_vars(settings)
    # dbt's target path for this command alone: its partial-parse state carries these vars, and a target path
    # shared with a run without them (the docs site's `dbt docs generate`) made each of the two parse the whole
    # project again on every build
    work = freshness_target_path(settings, target)
    work.mkdir(parents=True, exist_ok=True)
    (work / "sources.json").unlink(missing_ok=True)
    args: list[Any] = ["source", "freshness", "--vars", json.dumps(dvars), "--target-path", str(work)]
    error: DbtRunError | None = None
    # --no-write-json: dbt would write the whole manifest twice (after its parse and after the run) into this
    # private target path, which nothing reads (~2 s a build on `small`); sources.json, the one artifact used, is
    # written from dbt's result as dbt writes it
    try:
        result = run_dbt(
            args, target=target, settings=settings, project_dir=project_dir, write_json=False
        ).result
    except DbtRunError as e:  # stale sources make dbt exit non-zero; the artifact says which
        error, result = e, e.result
    if hasattr(result, "write"):
        result.write(str(work / "sources.json"))
    if (work / "sources.json").exists():
        shutil.copyfile(work / "sources.json", out)
    if not out.exists():
        if error is not None:
            raise error
        return FreshnessResult()  # a project without sources: nothing to check
    res = _parse(out, dvars)
    if error is not None and res.success:
        raise error
    if raise_on_failure and not res.success:
        raise StaleSourcesError(res)
    return res
