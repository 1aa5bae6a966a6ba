"""policy-monitor: watches Korean legislation and policy sources for the social economy."""

__version__ = "0.1.0"
