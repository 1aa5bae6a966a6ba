"""Source kinds, registered explicitly by name (nothing is discovered by scanning)."""

from monitor.sources import assembly, html_board, lawgo, lawmaking, press, rss, schedules
from monitor.sources.base import Batch, Item, Kind, PollContext

KINDS: dict[str, Kind] = {
    "rss": rss.KIND,
    "assembly_bills": assembly.BILLS,
    "assembly_notices": assembly.NOTICES,
    "assembly_schedules": schedules.KIND,
    "lawmaking_notices": lawmaking.NOTICES_KIND,
    "lawmaking_admin_notices": lawmaking.ADMIN_KIND,
    "law_changes": lawgo.KIND,
    "press_releases": press.KIND,
    "html_board": html_board.KIND,
}

__all__ = ["KINDS", "Batch", "Item", "Kind", "PollContext"]
