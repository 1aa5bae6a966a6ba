"""Renderers: one Digest → Slack Block Kit messages, plain text, or an e-mail."""


def annotate(title: str, note: str) -> str:
    """`제목 (note)`, or `제목 (앞, note)` when the title ends in parentheses already.

    Headings such as `… 12월 1일 (화)` or `의견 제출 필요 (이번 주·다음 주 마감)` would otherwise
    read `(화) (1/3)` and `(… 마감) (3건)`.
    """
    if title.endswith(")") and "(" in title:
        return f"{title[:-1]}, {note})"
    return f"{title} ({note})"
