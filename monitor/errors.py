"""The project's small exception tree."""


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""


class ConfigError(MonitorError):
    """A sources.yaml or rules/ file is invalid; the message names file, entry and field."""


class FetchError(MonitorError):
    """A source could not be fetched (network, HTTP status, size cap, robots.txt)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RobotsDisallowed(FetchError):
    """robots.txt forbids the URL and the source does not set ignore_robots."""


class ParseError(MonitorError):
    """A response could not be turned into items (wrong format, error page, bad envelope)."""


class EmptyResult(MonitorError):
    """A source that normally has items returned none: treated as a broken scraper."""


class DeliveryError(MonitorError):
    """A digest or alert could not be delivered."""


class ApiError(FetchError):
    """An API answered, but with an error code in its body (often with HTTP 200)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ConfigNotFound(ConfigError):
    """A config file or folder does not exist; `path` is where we looked."""

    def __init__(self, message: str, path: object) -> None:
        super().__init__(message)
        self.path = path


class StoreError(MonitorError):
    """The database file cannot be used: missing, damaged, not writable, or replaced under us.

    The message is one line naming the file, the user the process runs as and what to do.
    """
