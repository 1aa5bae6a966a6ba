"""Synthetic Korean items and rules in the shape of the real sources, seeded and reproducible."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config import RuleSet, TopicFile, load_rules

ROOT = Path(__file__).parents[1]

LAWS = (
    "도로교통법", "지방재정법", "조세특례제한법", "국민건강보험법", "근로기준법", "주택법", "건축법",
    "소득세법", "지방자치법", "공공기관의 운영에 관한 법률", "국가재정법", "전기사업법", "농지법",
    "관광진흥법", "환경영향평가법", "산업안전보건법", "청소년기본법", "평생교육법", "체육시설법",
)  # fmt: skip
# what the council follows: these put an item in scope of the shipped rules
RELEVANT = (
    "협동조합 기본법", "사회적기업 육성법", "사회적경제 기본법", "사회서비스 이용 및 이용권 관리에 관한 법률",
    "소비자생활협동조합법", "사회적협동조합", "마을기업 육성사업", "자활기업", "사회가치연대기금",
    "사회적경제기업 공공구매", "지역사회 통합돌봄", "사회연대경제",
)  # fmt: skip
MINISTRIES = (
    "행정안전부",
    "보건복지부",
    "고용노동부",
    "재정경제부",
    "중소벤처기업부",
    "국토교통부",
    "환경부",
)
PROGRAMS = (
    "청년 일자리 사업", "스마트팜 지원", "전통시장 활성화", "탄소중립 실천", "디지털 배움터",
    "지역 균형발전", "소상공인 재기 지원", "어르신 건강증진", "재난안전 점검", "공공데이터 개방",
)  # fmt: skip
REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "전남")
NAMES = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")
SENTENCES = (
    "현행법은 {a}에 관하여 규정하고 있으나, 최근 {b} 관련 수요가 증가함에 따라 "
    "제도 개선이 필요하다는 지적이 있음.",
    "이에 {a}의 지원 범위를 확대하고 {b}에 대한 국가와 지방자치단체의 책무를 "
    "명확히 하려는 것임(안 제{n}조).",
    "{r} 지역의 {a} 추진 현황을 점검하고 관계 기관과 협력하여 개선 방안을 마련할 계획이다.",
    "{m}는 {y}년 {a} 예산으로 총 {n}억 원을 편성하고 공모를 통해 대상 기관을 선정한다고 밝혔다.",
    "또한 {b}의 운영 실태를 매년 조사하여 그 결과를 국회에 보고하도록 함(안 제{n}조의2 신설).",
    "자세한 내용은 {m} 누리집 공지사항을 참고하시기 바랍니다.",
    "{a} 과정에서 발생하는 {b} 문제를 해소하기 위하여 전담 조직을 두도록 하려는 것임.",
)  # fmt: skip
# syllables for invented words (the generated rules' terms and filler)
SYLLABLES = (
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추쿠투푸후"
    "기니디리미비시이지치키티피히"
)


@dataclass(frozen=True)
class CorpusItem:
    """One synthetic item: a title and a summary, as a poll would store them."""

    key: str
    title: str
    summary: str

    def fields(self) -> dict[str, str]:
        """The fields rules read."""
        return {"title": self.title, "summary": self.summary}


def _word(rng: random.Random, low: int = 2, high: int = 4) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high)))


def generated_terms(count: int, seed: int = 7) -> list[str]:
    """Invented but Korean-looking terms (`{word}지원법`, `{word} 진흥`), distinct."""
    rng = random.Random(seed)
    suffixes = ("지원법", " 진흥", "사업", " 기금", "센터", " 특별법", "조합", " 인증제")
    terms: dict[str, None] = {}
    while len(terms) < count:
        terms[_word(rng, 2, 3) + rng.choice(suffixes)] = None
    return list(terms)


def generated_rules(count: int, seed: int = 7) -> dict[str, Any]:
    """A topic file with `count` rules over invented terms (some with `all` and `none` terms)."""
    rng = random.Random(seed)
    terms = generated_terms(count * 3, seed)
    rules = []
    for i in range(count):
        rule: dict[str, Any] = {"id": f"gen-{i:04d}", "any": rng.sample(terms, rng.randint(1, 4))}
        if rng.random() < 0.1:
            rule["all"] = [rng.choice(MINISTRIES)]
        if rng.random() < 0.2:
            rule["none"] = [rng.choice(terms) + " 폐지"]
        rules.append(rule)
    return {"topic": "bench-generated", "label": "생성 규칙", "rules": rules}


def shipped_rules() -> RuleSet:
    """The rules/ folder that ships with the project."""
    return load_rules(ROOT / "rules")


def with_generated(base: RuleSet | None, count: int, seed: int = 7) -> RuleSet:
    """A rule set: base (or nothing) plus `count` generated rules in one extra topic."""
    topics = tuple(base.topics) if base else ()
    files = dict(base.files) if base else {}
    if count:
        topics += (TopicFile.model_validate(generated_rules(count, seed)),)
    return RuleSet(topics, files)


def _summary(rng: random.Random, subject: str, other: str, extra: str | None) -> str:
    parts: list[str] = []
    length = rng.randint(150, 500)
    while sum(map(len, parts)) < length:
        template = rng.choice(SENTENCES)
        parts.append(
            template.format(
                a=subject,
                b=other,
                n=rng.randint(2, 60),
                r=rng.choice(REGIONS),
                m=rng.choice(MINISTRIES),
                y=rng.choice((2025, 2026, 2027)),
            )
        )
        if extra and rng.random() < 0.3:
            parts.append(f"{extra} 관련 규정도 함께 정비함.")
            extra = None
    return " ".join(parts)


def items(count: int, seed: int = 1, relevant: float = 0.08, generated: float = 0.05) -> list[CorpusItem]:
    """`count` items: bill titles, 입법예고 and press release titles with 제안이유-like summaries.

    About `relevant` of them mention a topic the shipped rules follow and `generated` of them a
    term of the generated rules, so matching does real work on hits, not just on misses.
    """
    rng = random.Random(seed)
    extra_terms = generated_terms(3000)
    out = []
    for n in range(count):
        subject = rng.choice(RELEVANT) if rng.random() < relevant else rng.choice(LAWS + PROGRAMS)
        other = rng.choice(PROGRAMS)
        extra = rng.choice(extra_terms) if rng.random() < generated else None
        shape = rng.random()
        if shape < 0.45:
            member = f"{rng.choice(NAMES)}{_word(rng, 2, 2)}의원 등 {rng.randint(10, 15)}인"
            title = f"{subject} 일부개정법률안({member})"
        elif shape < 0.65:
            title = f"「{subject} 시행령」 일부개정령안 입법예고"
        else:
            action = rng.choice(("추진", "점검", "공모", "선정 결과 발표"))
            title = f"{rng.choice(MINISTRIES)}, {rng.choice(REGIONS)} {subject} {action}"
        out.append(CorpusItem(f"item-{n}", title, _summary(rng, subject, other, extra)))
    return out
