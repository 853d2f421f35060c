"""Communication between GPUs: NCCL-style all-reduce and all-to-all over scale-up or scale-out links."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from infercast.specs.store import read_json
from infercast.specs.hardware import Chip


@lru_cache(maxsize=None)
def _coll() -> dict:
    return read_json("efficiency.json")["collectives"]


def link_bandwidth(chip: Chip, group: int) -> tuple[float, str]:
    """Bytes/s per GPU per direction for a group of `group` GPUs: scale-up inside the domain, else scale-out."""
    if group <= chip.scaleup_domain:
        return chip.scaleup_gbps * 1e9, chip.scaleup_name
    return chip.scaleout_gbps * 1e9, "scale-out network"


def allreduce_time(chip: Chip, nbytes, group: int, speed_of_light: bool = False):
    """Ring all-reduce of `nbytes` per GPU over `group` GPUs, best NCCL protocol.

    Bandwidth term 2(n-1)/n * bytes / link [SB-gpu]; latency per protocol from the Epoch
    inference-economics notebook (LL, LL128, Simple; m=2 for all-reduce) [EP-nb].
    """
    nbytes = np.asarray(nbytes, dtype=float)
    if group <= 1:
        return np.zeros_like(nbytes)
    c = _coll()
    bw, _ = link_bandwidth(chip, group)
    if speed_of_light:  # bandwidth term alone at the full link rate
        return 2.0 * (group - 1) / group * nbytes / bw
    bw *= c["link_efficiency"]
    per_node = min(group, chip.scaleup_domain)
    nodes = max(1, -(-group // chip.scaleup_domain))
    volume = 2.0 * (group - 1) / group * nbytes
    best = None
    for p in c["nccl"].values():
        lat = 2 * ((per_node - 1) * p["per_rank_us"] + p["per_log2_node_us"] * np.log2(nodes)) + p["base_us"]
        t = lat * 1e-6 + volume / (bw * p["bw_factor"])
        best = t if best is None else np.minimum(best, t)
    return best


def alltoall_time(chip: Chip, nbytes, group: int, speed_of_light: bool = False):
    """All-to-all where each GPU sends `nbytes` in total, (n-1)/n of it leaving the GPU [SB-gpu §EP]."""
    nbytes = np.asarray(nbytes, dtype=float)
    if group <= 1:
        return np.zeros_like(nbytes)
    c = _coll()
    bw, _ = link_bandwidth(chip, group)
    if speed_of_light:
        return nbytes * (group - 1) / group / bw
    lat = c["nccl"]["LL128"]["base_us"] * 1e-6
    return lat + nbytes * (group - 1) / group / (bw * c["link_efficiency"])


def transfer_time(chip: Chip, nbytes, speed_of_light: bool = False):
    """Bytes each GPU sends over its scale-out network port (one direction), at the link efficiency."""
    nbytes = np.asarray(nbytes, dtype=float)
    bw = chip.scaleout_gbps * 1e9 * (1.0 if speed_of_light else _coll()["link_efficiency"])
    lat = 0.0 if speed_of_light else _coll()["nccl"]["LL128"]["base_us"] * 1e-6
    return np.where(nbytes > 0, lat + nbytes / bw, 0.0)
