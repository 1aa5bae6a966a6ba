"""Properties found by generating inputs (hypothesis): normalisation, matching, dates, parsers.

The fast paths of fold and of the matcher are pinned to the straightforward versions they
replace: the per-character fold of before (kept here as the reference) and a str.find scan.
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.config import load_rules
from monitor.errors import ApiError, ParseError
from monitor.http import decode_body
from monitor.rules import Matcher
from monitor.sources import assembly, html_board, lawgo, lawmaking, press, rss
from monitor.text import _IGNORED, _fold_char, _nfc_with_map, fold, normalize, parse_datetime

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SEOUL = timezone(timedelta(hours=9))

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that exercises the folding: Hangul syllables and conjoining jamo, Latin with case,
# combining marks, compatibility forms, every kind of space and the ignored punctuation.
KOREAN = st.sampled_from(
    [*"사회적협동조합기본법마을기업생협", "\u1100", "\u1161", "\u11a8", "\u0301", "\u0308", "ß", "İ", "ﬁ",
     "Ａ", "①", "㈜", "\u3000", "\u00a0", " ", "\t", "\n", *sorted(_IGNORED), "A", "e", "ΐ", "K"]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.text(KOREAN, max_size=60))


def old_fold(text: str) -> tuple[str, tuple[int, ...], str]:
    """fold as it was before the fast path: NFC, then NFKC + casefold character by character."""
    source = unicodedata.normalize("NFC", text or "")
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(source):
        piece = _fold_char(ch)
        out.append(piece)
        origin.extend([i] * len(piece))
    return "".join(out), tuple(origin), source


# --- the normaliser ---------------------------------------------------------------------------


@FAST
@given(TEXT)
@example("ᄀ ᅡ")  # a jamo pair split by a space: composes once the space is gone
@example("e \u0301")
@example("ΐ")  # casefolds to a decomposed sequence
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FAST
@given(TEXT)
def test_fold_equals_the_old_per_character_fold_repeated_until_stable(text: str) -> None:
    new = fold(text)
    old_text, old_origin, source = old_fold(text)
    assert new.source == source
    if old_fold(old_text)[0] == old_text:  # the old fold was already stable: identical, map too
        assert (new.text, new.origin) == (old_text, old_origin)
    else:  # one more round of the old fold (and so on) gives the new result
        current = old_text
        for _ in range(4):
            current = old_fold(current)[0]
        assert new.text == current


@FAST
@given(TEXT)
def test_the_origin_map_points_into_the_source_in_order(text: str) -> None:
    folded = fold(text)
    # at() first, on its lazy form (as the matcher asks), then the whole map
    at = [folded.at(i) for i in range(len(folded.text))]
    origin = folded.origin
    assert len(origin) == len(folded.text)
    assert list(origin) == sorted(origin) and all(0 <= i < len(folded.source) for i in origin)
    assert at == list(origin)


@FAST
@given(TEXT)
def test_nfc_by_clusters_is_nfc(text: str) -> None:
    normalized, origin = _nfc_with_map(text)
    assert normalized == unicodedata.normalize("NFC", text)
    assert len(origin) == len(normalized) and list(origin) == sorted(origin)


def test_invisible_characters_do_not_hide_a_term() -> None:
    for mark in ("\u200b", "\u00ad", "\ufeff", "\u2060"):
        assert normalize(f"협동{mark}조합") == "협동조합"


# --- matching ---------------------------------------------------------------------------------

RULES = load_rules(ROOT / "rules")
MATCHER = Matcher(RULES)
TERMS = sorted({t for rule in MATCHER.rules for t in rule.config.any or []})
PLAIN_RULES = {rule.config.id for rule in MATCHER.rules if not rule.regex}
# (term, field) pairs that fire on their own: a rule with the term, that field, no `all`, any source
ALONE = {
    (t, f) for rule in MATCHER.rules if not rule.config.all and rule.sources is None and not rule.regex
    for t in rule.config.any or [] for f in rule.config.fields
}  # fmt: skip
FILLER = st.text(st.sampled_from([*"가나다라법안의원정부개정협동사회 ", "「", "」", "·"]), max_size=20)
SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u200b"])


def fired(fields: dict[str, str]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(m.rule, m.field, m.terms) for m in MATCHER.match(fields) if m.rule in PLAIN_RULES}


@FAST
@given(st.sampled_from(TERMS), st.data(), FILLER, FILLER, st.sampled_from(["title", "summary"]))
def test_matching_is_invariant_under_whitespace_inside_a_term(
    term: str, data: st.DataObject, before: str, after: str, field: str
) -> None:
    cuts = data.draw(st.lists(st.integers(1, max(1, len(term) - 1)), max_size=3)) if len(term) > 1 else []
    spaced = term
    for cut in sorted(set(cuts), reverse=True):
        spaced = spaced[:cut] + data.draw(SPACES) + spaced[cut:]
    plain = fired({field: before + term + after})
    assert fired({field: before + spaced + after}) == plain
    if (term, field) in ALONE:  # not vacuous: these fire, spaced or not
        assert plain, f"'{term}' alone should fire a rule in {field}"


def find_ends(text: str, terms: list[str]) -> dict[str, list[int]]:
    """The reference scan: every occurrence of every term by str.find."""
    ends: dict[str, list[int]] = {}
    for term in terms:
        start = text.find(term)
        while start >= 0:
            ends.setdefault(term, []).append(start + len(term) - 1)
            start = text.find(term, start + 1)
    return ends


@FAST
@given(
    st.lists(st.one_of(st.sampled_from(TERMS), FILLER), max_size=8),
    st.lists(st.sampled_from(TERMS), max_size=4),
)
def test_the_automaton_finds_exactly_what_str_find_finds_in_each_field(
    title_parts: list[str], summary_parts: list[str]
) -> None:
    fields = {"title": "".join(title_parts), "summary": " ".join(summary_parts)}
    scans = MATCHER._scan(fields)
    for name, scan in scans.items():
        want = find_ends(scan.folded.text, MATCHER._terms)
        assert {t: sorted(e) for t, e in scan.ends.items()} == want, name


class OriginalCoordinates(Matcher):
    """The matcher as it was: every hit of every term mapped back to the original text before
    masks and order are judged (the fast path maps back the first unmasked hit only)."""

    _first_unmasked = Matcher._unmasked


# Characters NFKC or casefold turn into several (㈜ → (주), ㎡ → m2, ﬁ → fi, ß → ss): several
# folded characters then share one original index, where masks and ties are easy to get wrong.
EXPANDING_PIECES = ["㈜", "㈔", "㎡", "㉑", "ﬁ", "ß", "İ", "주", "m", "2", "협동", "조합", " "]
EXPANDING_TEXT = st.lists(st.sampled_from(EXPANDING_PIECES), max_size=10).map("".join)
EXPANDING_TERMS = st.lists(
    st.sampled_from(["㈜", "주", "(주)", "㎡", "m", "2", "m2", "ﬁ", "fi", "ß", "ss", "i", "협동", "조합"]),
    min_size=1, max_size=3,
)  # fmt: skip


@FAST
@given(
    st.lists(st.tuples(EXPANDING_TERMS, st.lists(st.sampled_from(["주", "m", "2", "(", "i", "s", "협동"]),
                                                  max_size=2)), min_size=1, max_size=3),
    EXPANDING_TEXT,
    EXPANDING_TEXT,
)  # fmt: skip
@example([(["㈜"], ["주"])], "㈜한국협동", "")  # a mask over part of one character's expansion
@example([(["m", "2"], [])], "면적 100㎡", "")  # two terms starting in one character: spelling order
def test_matches_are_those_judged_in_original_coordinates(
    rules: list[tuple[list[str], list[str]]], title: str, summary: str
) -> None:
    from monitor.config import RuleSet, TopicFile

    topic = TopicFile.model_validate({"topic": "t", "label": "T", "rules": [
        {"id": f"r{n}", "any": any_, "none": none} for n, (any_, none) in enumerate(rules)
    ]})  # fmt: skip
    ruleset = RuleSet((topic,), {"t": ROOT / "rules" / "t.yaml"})
    fields = {"title": title, "summary": summary}
    assert Matcher(ruleset).match(fields) == OriginalCoordinates(ruleset).match(fields)


@FAST
@given(st.text(st.sampled_from([*"생협상생협력학생조합 (가A"]), max_size=30))
def test_the_regex_prefilter_never_skips_a_rule_whose_regex_matches(text: str) -> None:
    scans = MATCHER._scan({"title": text, "summary": text})
    candidates = MATCHER._regex_candidates(scans)
    for index in MATCHER._regex_rules:
        rule = MATCHER.rules[index]
        matches = any(p.search(scans[f].folded.source) for p in rule.regex for f in rule.config.fields)
        if matches:
            assert index in candidates


# --- dates ------------------------------------------------------------------------------------

INSTANTS = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=SEOUL)
)


WRITTEN = ["%Y-%m-%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S+09:00",
           "%a, %d %b %Y %H:%M:%S +0900", "%a, %d %b %Y %H:%M:%S KST", "%d %b %Y %H:%M:%S"]  # fmt: skip
INCOMPLETE = ["%m월 %d일", "%m-%d", "%m/%d", "%d %b %H:%M", "%b %Y", "%Y-%m", "%Y년 %m월",
              "%a, %d %b %H:%M:%S KST", "%H:%M", "%m.%d %H:%M"]  # fmt: skip


@FAST
@given(INSTANTS, st.sampled_from(WRITTEN))
def test_a_korean_time_is_read_as_that_instant_never_nine_hours_off(when: datetime, fmt: str) -> None:
    text = when.strftime(fmt)
    if "%S" not in fmt:
        when = when.replace(second=0)
    assert parse_datetime(text) == when


@FAST
@given(INSTANTS)
def test_gmt_times_are_converted_not_relabelled(when: datetime) -> None:
    utc = when.astimezone(UTC)
    assert parse_datetime(utc.strftime("%a, %d %b %Y %H:%M:%S GMT")) == when


@FAST
@given(INSTANTS, st.sampled_from(INCOMPLETE))
def test_a_date_missing_its_year_month_or_day_is_refused_not_filled_from_today(
    when: datetime, fmt: str
) -> None:
    assert parse_datetime(when.strftime(fmt)) is None


@FAST
@given(st.text(st.sampled_from([*"0123456789 -./:년월일T+KSTGMTMonSepZ,"]), max_size=30))
def test_whatever_the_text_a_date_comes_from_digits_written_in_it(text: str) -> None:
    parsed = parse_datetime(text)  # never raises
    if parsed is not None:
        years = {parsed.year, (parsed - timedelta(days=1)).year, (parsed + timedelta(days=1)).year}
        assert any(f"{y:04d}" in text or f"{y % 100:02d}" in text for y in years), (text, parsed)


# --- parsers: items or our own error, nothing else --------------------------------------------

BOARD_OPTIONS = html_board.BoardOptions.model_validate(
    {"row": "table tbody tr", "title": "td.title a, td a", "date": "td", "id_regex": r"(\d+)",
     "detail_url": "/view?id={id}", "period": "td", "pinned": ".notice"}
)  # fmt: skip
LAWMAKING_ORIGIN = "https://opinion.lawmaking.go.kr"


def _assembly(content: bytes) -> Any:
    page = assembly.parse_envelope(content, "TVBPMBILL11")
    for row in page.rows:
        assembly.bill_item(row)
        assembly.notice_item(row, None, None)
    return page


PARSERS: dict[str, Any] = {
    "rss": lambda b: rss.parse_feed(b, {}),
    "assembly": _assembly,
    "lawmaking-html": lambda b: lawmaking.parse_list_html(
        decode_body(b, {}), LAWMAKING_ORIGIN + "/gcom/ogLmPp", lawmaking.NOTICES
    ),
    "lawmaking-api": lambda b: lawmaking.parse_api(b, lawmaking.NOTICES, LAWMAKING_ORIGIN),
    "lawgo": lawgo.parse_law_search,
    "press": press.parse_press,
    "html_board": lambda b: html_board.parse_board(
        decode_body(b, {}), "https://example.go.kr/list", BOARD_OPTIONS
    ),
}
SEEDS: dict[str, list[Path]] = {
    "rss": sorted((FIXTURES / "rss").glob("*")),
    "lawmaking-html": sorted((FIXTURES / "lawmaking").glob("*.html")),
    "lawmaking-api": sorted((FIXTURES / "lawmaking").glob("*.xml")),
    "lawgo": sorted((FIXTURES / "lawgo").glob("*")),
    "press": sorted((FIXTURES / "press").glob("*")),
    "html_board": sorted((FIXTURES / "boards").glob("*.html")),
}
SEED_ROW = {
    "BILL_ID": "PRC_A1", "BILL_NO": "2212345", "BILL_NAME": "협동조합 기본법 일부개정법률안",
    "PROPOSE_DT": "2026-09-01", "PROPOSER": "홍길동의원 등 10인", "NOTI_ED_DT": "2026-09-20",
    "CMT_PROC_DT": "2026-09-30", "PROC_RESULT_CD": "원안가결",
}  # fmt: skip
SEED_HEAD = [{"list_total_count": 1}, {"RESULT": {"CODE": "INFO-000", "MESSAGE": "정상"}}]
ASSEMBLY_SEED = json.dumps(
    {"TVBPMBILL11": [{"head": SEED_HEAD}, {"row": [SEED_ROW]}]}, ensure_ascii=False
).encode()


def parse_or_own_error(name: str, content: bytes) -> None:
    # our own errors are fine: the run fails with a reason and the other sources go on
    with contextlib.suppress(ParseError, ApiError):
        PARSERS[name](content)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed with a few bytes flipped, inserted, deleted, or cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "dup"]))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(
                st.sampled_from([b"<", b">", b"&", b"]]>", b"<![CDATA[", b"\xff", b"\x00", b'"', b"{"])
            )
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif op == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


def _seed_bytes(name: str) -> st.SearchStrategy[bytes]:
    if name == "assembly":
        return st.just(ASSEMBLY_SEED)
    return st.sampled_from(SEEDS[name]).map(lambda p: p.read_bytes())


@SLOW
@pytest.mark.parametrize("name", sorted(PARSERS))
@given(data=st.data())
def test_parsers_on_mutated_real_bodies_yield_items_or_our_own_error(name: str, data: st.DataObject) -> None:
    seed = data.draw(_seed_bytes(name))
    parse_or_own_error(name, data.draw(mutated(seed)))


@SLOW
@pytest.mark.parametrize("name", sorted(PARSERS))
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode)))
def test_parsers_on_random_bytes_yield_items_or_our_own_error(name: str, content: bytes) -> None:
    parse_or_own_error(name, content)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


ROW_KEYS = st.sampled_from([*SEED_ROW, "CURR_COMMITTEE", "AGE", "LINK_URL"])
CODES = st.sampled_from(["INFO-000", "INFO-200", "ERROR-300", None])


@SLOW
@given(st.dictionaries(ROW_KEYS, JSON_VALUES, max_size=8), CODES, JSON_VALUES)
def test_assembly_rows_of_any_shape_yield_items_or_our_own_error(
    row: dict[str, Any], code: str | None, total: Any
) -> None:
    head = [{"list_total_count": total}, *([{"RESULT": {"CODE": code, "MESSAGE": "m"}}] if code else [])]
    body = json.dumps({"TVBPMBILL11": [{"head": head}, {"row": [row]}]}).encode()
    parse_or_own_error("assembly", body)


def test_a_control_character_in_a_malformed_rest_body_is_salvaged_not_a_crash() -> None:
    # found by the mutation test above: lxml refuses a NUL as element text (ValueError)
    body = (FIXTURES / "lawmaking" / "rest_ogLmPp_malformed.xml").read_bytes()
    broken = body.replace(b"<lsNm>", b"<lsNm>\x00\x01", 1)
    page = lawmaking.parse_api(broken, lawmaking.NOTICES, LAWMAKING_ORIGIN)
    assert page.items and all("\x00" not in item.title for item in page.items)
