"""Source kinds, registered explicitly by name (nothing is discovered by scanning)."""

from monitor.sources import assembly, rss
from monitor.sources.base import Batch, Item, Kind, PollContext

KINDS: dict[str, Kind] = {
    "rss": rss.KIND,
    "assembly_bills": assembly.BILLS,
    "assembly_notices": assembly.NOTICES,
}

__all__ = ["KINDS", "Batch", "Item", "Kind", "PollContext"]
