"""Where measured kernel tables live, and which one serves a (chip, engine, version).

The tables are NVIDIA's per-kernel measurements shipped as data in the `aiconfigurator-core`
package (Apache-2.0; extra `infercast[kernels]`): parquet files under
`aiconfigurator_core/systems/data/<system>/<op>/<backend>/<version>/`. infercast reads the
files with pyarrow only; it never imports aiconfigurator's modelling code (the package is
located with `importlib.util.find_spec`, which does not execute it).
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGE = "aiconfigurator-core"
# catalog chip id -> aiconfigurator system folder (only chips NVIDIA measured; others use the fallback)
SYSTEMS = {
    "a100-sxm-80gb": "a100_sxm", "h100-sxm": "h100_sxm", "h200-sxm": "h200_sxm", "b200": "b200_sxm",
    "b300": "b300_sxm", "gb200": "gb200", "gb300": "gb300", "l40s": "l40s",
    "rtx-pro-6000": "rtx_pro_6000_server", "arc-pro-b60": "b60",
}
# engine -> table backend; other engines name the backend whose tables they borrow, per operator family
# (efficiency.json: engines.<name>.kernel_tables)
BACKENDS = {"tensorrt-llm": "trtllm", "vllm": "vllm", "sglang": "sglang"}
ENV_DIR = "INFERCAST_KERNEL_TABLES"  # point at another systems/data folder (or 'off' to disable)


@lru_cache(maxsize=1)
def data_root() -> Path | None:
    """The folder holding <system>/<op>/<backend>/<version>/*.parquet, or None when not installed."""
    env = os.environ.get(ENV_DIR)
    if env:
        if env.lower() in ("off", "0", "none"):
            return None
        p = Path(env)
        return p if p.is_dir() else None
    try:
        spec = importlib.util.find_spec("aiconfigurator_core")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "systems" / "data"
    if not p.is_dir():
        return None
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    return p


@lru_cache(maxsize=1)
def package_version() -> str | None:
    """The installed aiconfigurator-core release (read once: the metadata lookup parses files each time)."""
    try:
        from importlib.metadata import version

        return version(PACKAGE)
    except Exception:  # noqa: BLE001 - not installed
        return None


def release_key(v: str) -> tuple:
    """'1.3.0rc20' -> (1, 3, 0, 20); '0.5.6.post2' -> (0, 5, 6, 2): orderable release tuples."""
    return tuple(int(x) for x in re.findall(r"\d+", v))


@dataclass(frozen=True)
class TableRef:
    path: Path
    system: str
    op: str
    backend: str
    version: str
    requested: str | None  # the engine version the caller asked for, if any

    def as_meta(self) -> dict:
        """The table's identity for the disk cache, without the caller's request: the cache is keyed by the
        files read, which every release asked for shares, so the request is re-attached by each reader."""
        return {"path": str(self.path), "system": self.system, "op": self.op, "backend": self.backend,
                "version": self.version}

    @classmethod
    def from_meta(cls, d: dict, requested: str | None) -> "TableRef":
        return cls(Path(d["path"]), d["system"], d["op"], d["backend"], d["version"], requested)

    @property
    def detail(self) -> str:
        v = f"{self.backend} {self.version}"
        if self.requested and release_key(self.requested)[:2] != release_key(self.version)[:2]:
            v += f" (nearest measured release to {self.requested})"
        return f"{PACKAGE} {package_version() or ''} {self.system}/{self.op}/{v}/{self.path.name}".replace("  ", " ")


@lru_cache(maxsize=1)
def current_versions() -> dict[tuple[str, str], str]:
    """(system, backend) -> the release aiconfigurator calls `current` (its systems/query_versions.yaml:
    the newest complete collection; newer folders can be partial drops for new models)."""
    root = data_root()
    out: dict[tuple[str, str], str] = {}
    f = root.parent / "query_versions.yaml" if root else None
    if not f or not f.is_file():
        return out
    section, system = None, None
    for line in f.read_text().splitlines():
        s = line.split("#", 1)[0].rstrip()
        if not s.strip():
            continue
        indent = len(s) - len(s.lstrip())
        key = s.strip().split(":", 1)[0]
        if indent == 0:
            section, system = key, None
        elif section == "overrides" and indent == 2 and s.strip().endswith(":"):
            system = key
        m = re.search(r"(\w+):\s*\{current:\s*\"([^\"]+)\"", s)
        if m:
            out[(system or "*", m.group(1))] = m.group(2)
    return out


def find_all(chip_id: str, engine: str, op: str, filename: str, version: str | None = None,
             older_takes_current: bool = False) -> list[TableRef]:
    """Every measured release of a table, most preferred first: the release nearest the engine's
    version at or below it (aiconfigurator's `current` one when no version is given), then the
    others by distance, which fill shapes the preferred one lacks (backward fill, as aiconfigurator does).
    A version older than every measured release takes the oldest, or with `older_takes_current` the
    `current` one."""
    root = data_root()
    system = SYSTEMS.get(chip_id)
    backend = BACKENDS.get(engine)
    if root is None or system is None or backend is None:
        return []
    base = root / system / op / backend
    if not base.is_dir():
        return []
    versions = sorted((d.name for d in base.iterdir() if (d / filename).is_file()), key=release_key)
    if not versions:
        return []
    cur = current_versions()
    default = cur.get((system, backend)) or cur.get(("*", backend))
    if version:
        want = release_key(version)
        older = [v for v in versions if release_key(v) <= want]
        pick = older[-1] if older else (default if older_takes_current and default in versions else versions[0])
    elif default in versions:
        pick = default
    else:
        pick = versions[-1]
    picked = release_key(pick)
    order = [pick] + sorted((v for v in versions if v != pick),
                            key=lambda v: (release_key(v) > picked, abs(versions.index(v) - versions.index(pick))))
    return [TableRef(base / v / filename, system, op, backend, v, version) for v in order]


def find(chip_id: str, engine: str, op: str, filename: str, version: str | None = None) -> TableRef | None:
    refs = find_all(chip_id, engine, op, filename, version)
    return refs[0] if refs else None


def find_nccl(chip_id: str) -> TableRef | None:
    """NCCL collective measurements of a system (newest NCCL release)."""
    root = data_root()
    system = SYSTEMS.get(chip_id)
    if root is None or system is None:
        return None
    base = root / system / "comm" / "nccl"
    if not base.is_dir():
        return None
    versions = sorted((d.name for d in base.iterdir() if (d / "nccl_perf.parquet").is_file()), key=release_key)
    if not versions:
        return None
    return TableRef(base / versions[-1] / "nccl_perf.parquet", system, "comm", "nccl", versions[-1], None)


# catalog chips NVIDIA did not measure that carry a measured chip's GPU die and tensor cores: their compute
# kernels (GEMM, attention, MLA, MoE) take the sibling's measured efficiency against their own datasheet
# (time = own roofline / efficiency); their collectives are not borrowed (other links, other topology).
# GH200: the GH100 Hopper GPU with 144 GB HBM3e (NVIDIA GH200 Grace Hopper Superchip datasheet);
# H800: the H100 SXM with NVLink cut to 400 GB/s (NVIDIA H800 product brief); H200 NVL: the H200 at up to
# 600 W (NVIDIA H200 datasheet, NVL column)
SIBLINGS = {"gh200": "h200-sxm", "h800": "h100-sxm", "h200-nvl": "h200-sxm"}


def has_tables(chip) -> bool:
    """Whether measured tables may exist for this chip (a catalog chip NVIDIA measured, or its sibling,
    package installed)."""
    return ((chip.id in SYSTEMS or chip.id in SIBLINGS) and data_root() is not None
            and np.ndim(chip.memory_bw_tbps) == 0)


def measured_chip(chip):
    """The catalog chip the tables were measured on. Efficiencies are taken against its datasheet, so a
    what-if chip with the same id but more FLOP/s or bandwidth keeps the measured kernel efficiency and
    runs each kernel at least as fast (time = its own roofline / the measured efficiency)."""
    from infercast.errors import InfercastError
    from infercast.specs.hardware import get_chip

    try:
        return get_chip(SIBLINGS.get(chip.id, chip.id))
    except InfercastError:  # a chip from a user's file: its own numbers are the only datasheet there is
        return chip


def chip_key(chip) -> tuple:
    """A cache key for a chip's numbers (pydantic chips hold dicts, so they do not hash)."""
    return (chip.id, tuple(sorted(chip.tflops.items())), chip.memory_bw_tbps)


@lru_cache(maxsize=64)
def read_columns(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns of a parquet file as numpy arrays (strings as object arrays). Read once per process."""
    import pyarrow.parquet as pq

    have = set(pq.read_schema(path).names)
    t = pq.read_table(path, columns=[c for c in columns if c in have])
    out = {}
    for c in columns:
        if c not in have:  # an optional column some releases lack (e.g. window_size): absent means 0
            out[c] = np.zeros(t.num_rows)
            continue
        col = t.column(c)
        try:
            out[c] = col.to_numpy()
        except Exception:  # noqa: BLE001 - chunked string columns
            out[c] = np.asarray(col.to_pylist(), dtype=object)
    return out
