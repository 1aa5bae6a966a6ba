"""Renderers: one Digest → Slack Block Kit messages, plain text, or an e-mail."""
