"""One direction of imports (docs/architecture: foundation → stages → roof), read from the source, so a newcomer
cannot add an import that goes up or around: the foundation imports nothing of the project above it, a stage
never imports the roof (orchestration) or another stage, and no module reaches itself through others —
counting the imports inside functions, which Python only resolves at call time."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("yiwang", "connectors", "expectations", "serving", "simulator", "dags")

# settings, warehouse connection and schema names, the ops schema, contracts, privacy, progress, the read snapshot,
# the dbt runner, the API's lookup tables (schema serving: written by publish, read by the API)
FOUNDATION = {
    "yiwang",
    "yiwang.settings",
    "yiwang.warehouse",
    "yiwang.contracts",
    "yiwang.privacy",
    "yiwang.ops",
    "yiwang.progress",
    "yiwang.snapshot",
    "yiwang.dbt_runner",
    "yiwang.dbt_duckdb_udf",
    "yiwang.freshness",
    "yiwang.serving_tables",
}
STAGES = ("connectors", "expectations", "serving", "simulator")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in (REPO / pkg).rglob("*.py"):
            name = ".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            out[name] = f
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for m, f in modules.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            edges[m] |= {n for n in names if n in modules and n != m}
    return edges


def _layer(m: str) -> str:
    if m in FOUNDATION:
        return "foundation"
    top = m.split(".")[0]
    return f"stage:{top}" if top in STAGES else "roof"


def test_imports_go_one_way() -> None:
    edges = _imports(_modules())
    wrong = []
    for m, targets in edges.items():
        for t in targets:
            lm, lt = _layer(m), _layer(t)
            if lm == "foundation" and lt != "foundation":
                wrong.append(f"{m} (foundation) imports {t} ({lt})")
            elif lm.startswith("stage:") and lt != "foundation" and lt != lm:
                wrong.append(f"{m} ({lm}) imports {t} ({lt})")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle() -> None:
    edges = _imports(_modules())
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t) :], t] if t in path else [m, t])
            elif t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    # a package's __init__ re-exporting its own modules is not a cycle of behaviour
    cycles = [
        c for c in cycles if not (len({x.split(".")[0] for x in c}) == 1 and c[0] == c[0].split(".")[0])
    ]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_layer_test_sees_a_wrong_import() -> None:
    """The rule itself can fail: a stage module importing the roof is reported."""
    assert _layer("expectations.suites").startswith("stage:")
    assert _layer("yiwang.publish") == "roof"
    assert _layer("yiwang.warehouse") == "foundation"
