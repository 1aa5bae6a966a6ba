"""Source kinds, registered explicitly by name (nothing is discovered by scanning)."""

from monitor.sources import rss
from monitor.sources.base import Batch, Item, Kind, PollContext

KINDS: dict[str, Kind] = {
    "rss": rss.KIND,
}

__all__ = ["KINDS", "Batch", "Item", "Kind", "PollContext"]
