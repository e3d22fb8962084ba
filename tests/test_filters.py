"""Unit tests of the heuristic filters: every rule trips with its exact reason on one
document and passes on another; Gopher repetition's numpy signals equal a plain
reference implementation; config mistakes are one-line ConfigErrors."""

import random
import re
from collections import Counter

import pytest

from curate import registry
from curate import text as T
from curate.config import ConfigError, build
from curate.document import Document, Drop
from curate.filters.c4 import BadWords
from tests.test_stages import PROSE

# Six sentences on six lines, each ending in terminal punctuation.
PROSE_LINES = "\n".join(
    [
        "The history of the town is closely tied to the river that runs through it.",
        "For centuries the river carried goods to the sea, and the merchants grew rich.",
        "Today the old warehouses have been turned into homes and studios.",
        "Visitors come to walk along the water in the summer months.",
        "The museum tells the story of the trade with maps and letters.",
        "Objects were found when the quay was rebuilt!",
    ]
)


def stage(name, **params):
    spec = registry.stage(name)
    return spec.make(build(spec.config_cls, params, f"stages.{name}"))


def run(name, text, provenance=None, metadata=None, source="web", **params):
    doc = Document("d1", text, source, provenance=provenance or {}, metadata=metadata or {})
    return stage(name, **params).process(doc), doc


def reason_of(name, text, **kw):
    out, _ = run(name, text, **kw)
    return out.reason if isinstance(out, Drop) else None


# ----------------------------------------------------------------------------- Gopher repetition


def reference_repetition(text: str) -> dict:
    """datatrove's definitions, written the slow obvious way (strings, Counter, a set)."""

    def dups(xs):
        seen, n, chars = set(), 0, 0
        for x in xs:
            if x in seen:
                n, chars = n + 1, chars + len(x)
            seen.add(x)
        return n, chars

    paragraphs = re.split(r"\n{2,}", text.strip())
    lines = re.split(r"\n+", text)
    words = T.words(text)
    out = {"n_chars": len(text)}
    d = max(len(text), 1)
    n, c = dups(paragraphs)
    out["dup_para_frac"], out["dup_para_char_frac"] = n / len(paragraphs), c / d
    n, c = dups(lines)
    out["dup_line_frac"], out["dup_line_char_frac"] = n / len(lines), c / d
    for n in (2, 3, 4):
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        if grams:
            gram, count = Counter(grams).most_common(1)[0]  # ties: first inserted
            out[f"top_{n}_gram_char_frac"] = len(gram) * count / d
        else:
            out[f"top_{n}_gram_char_frac"] = 0.0
    for n in range(5, 11):
        seen, chars, i = set(), 0, 0
        while i < len(words) - n + 1:
            gram = "".join(words[i : i + n])
            if gram in seen:
                chars, i = chars + len(gram), i + n
            else:
                seen.add(gram)
                i += 1
        out[f"dup_{n}_gram_char_frac"] = chars / d
    return out


def varied_texts():
    rng = random.Random(7)
    vocab = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "far", "away", ".", ",", "!", "x"]
    texts = ["", "one", "two words", "a b c d e f g h i j k", PROSE, PROSE_LINES, PROSE + "\n\n" + PROSE]
    for _ in range(60):
        parts = []
        for _ in range(rng.randint(1, 12)):
            k = rng.randint(1, 25)
            seg = " ".join(rng.choice(vocab[: rng.randint(2, len(vocab))]) for _ in range(k))
            parts.append(seg)
            if rng.random() < 0.4:  # repeat a segment, sometimes overlapping with itself
                parts.append(seg + " " + seg[: rng.randint(0, len(seg))])
        sep = rng.choice([" ", "\n", "\n\n", "\n\n\n"])
        texts.append(sep.join(parts) + rng.choice(["", "\n", "\n\n"]))
    return texts


def test_repetition_signals_equal_the_reference_on_varied_texts():
    st = stage("gopher_repetition")
    for text in varied_texts():
        got = st.score(Document("d", text, "web"))
        assert got == reference_repetition(text), text


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "empty"),
        ("\n\n".join([PROSE, PROSE, "A last short paragraph here."]), "duplicate_paragraphs"),
        ("\n\n".join([PROSE, PROSE, "a", "b", "c", "d", "e"]), "duplicate_paragraph_chars"),
        ("\n".join(["same line here"] * 4 + [PROSE]), "duplicate_lines"),
        ("\n".join([PROSE, PROSE, "a", "b", "c", "d", "e"]), "duplicate_line_chars"),
        (" ".join(["buy now"] * 30) + " " + PROSE, "top_2_gram"),
        (" ".join(["buy it now"] * 25) + " " + PROSE, "top_3_gram"),
        (" ".join(["buy it right now"] * 9) + " " + PROSE, "top_4_gram"),
        (PROSE + " " + " ".join(PROSE.split()[:20]) + " " + " ".join(PROSE.split()[:20]), "duplicated_5_grams"),
    ],
)
def test_repetition_rules_trip_with_their_reason(text, reason):
    assert reason_of("gopher_repetition", text) == reason


def test_repetition_passes_plain_prose_and_each_rule_can_be_switched_off():
    assert reason_of("gopher_repetition", PROSE) is None
    assert reason_of("gopher_repetition", PROSE_LINES) is None
    text = " ".join(["buy now"] * 30) + " " + PROSE
    loose = {2: 1.0, 3: 1.0, 4: 1.0}
    assert reason_of("gopher_repetition", text, top_ngram_char_frac=loose, dup_ngram_char_frac={}) is None


def test_repetition_duplicated_n_gram_rules_for_each_n():
    # One 5..10-word phrase repeated: only the n-grams up to its length repeat.
    for n in range(5, 11):
        cfg = {m: (0.01 if m == n else 1.0) for m in range(5, 11)}
        st = stage("gopher_repetition", top_ngram_char_frac={}, dup_ngram_char_frac=cfg)
        phrase = " ".join(f"w{i}" for i in range(n))
        text = PROSE + " " + " ".join([phrase] * 3)
        out = st.process(Document("d", text, "web"))
        assert isinstance(out, Drop) and out.reason == f"duplicated_{n}_grams"


# ----------------------------------------------------------------------------- Gopher quality


def test_gopher_quality_counts_distinct_stop_words_and_datatrove_bullets():
    _, d = run("gopher_quality", " ".join(["the cat sat"] * 30))
    assert d.signals("gopher_quality")["stop_words"] == 1  # "the" thirty times is one stop word
    assert reason_of("gopher_quality", " ".join(["the cat sat"] * 30)) == "too_few_stop_words"
    bulleted = "\n".join(["• the item of value and the price"] * 12)
    assert reason_of("gopher_quality", bulleted) == "too_many_bullet_lines"
    starred = "\n".join(["* the item of value and the price"] * 12)
    assert reason_of("gopher_quality", starred) is None  # '*' is not a bullet by default
    assert reason_of("gopher_quality", starred, bullets=["*"]) == "too_many_bullet_lines"


# ----------------------------------------------------------------------------- C4


def test_c4_line_rules_edit_the_text_and_count_what_they_removed():
    text = "\n".join(
        [
            "The first sentence is a good one.",
            "Menu",  # no terminal punctuation
            "Read more...",  # ends in an ellipsis
            "Too short.",  # fewer than 3 words
            "Please enable JavaScript to view the comments.",
            "This site uses cookies to improve your experience.",
            "A word " + "x" * 1001 + " too long.",
            "Rivers carry water to the sea.[1] They change course.[edit]",
            "Trees grow slowly in the cold north.",
            "Birds sing in the early morning!",
            "Is this the last line of the page?",
        ]
    )
    out, d = run("c4", text)
    assert out is d
    assert d.text == "\n".join(
        [
            "The first sentence is a good one.",
            "Rivers carry water to the sea. They change course.",
            "Trees grow slowly in the cold north.",
            "Birds sing in the early morning!",
            "Is this the last line of the page?",
        ]
    )
    s = d.signals("c4")
    assert (s["lines_in"], s["lines_kept"]) == (11, 5)
    assert s["lines_dropped_no_terminal_punct"] == 1 and s["lines_dropped_ellipsis"] == 1
    assert s["lines_dropped_too_few_words"] == 1
    assert s["lines_dropped_javascript"] == 1 and s["lines_dropped_policy"] == 1 and s["lines_dropped_long_word"] == 1
    assert s["citations_removed"] == 2 and s["sentences"] == 6 and s["chars_removed"] == len(text) - len(d.text)


def test_c4_line_thresholds_are_settable():
    text = PROSE_LINES + "\nTwo words.\nA line without an end"
    _, d = run("c4", text, min_words_per_line=1, terminal_punctuation=[".", "d"])
    assert d.text.endswith("Two words.\nA line without an end")


@pytest.mark.parametrize(
    "extra,reason",
    [
        ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "lorem_ipsum"),
        ("The function body is { return x; } in the code.", "curly_bracket"),
        ("Some people fuck around with the settings here.", "bad_words"),
    ],
)
def test_c4_page_rules_drop_with_their_reason(extra, reason):
    out, d = run("c4", PROSE_LINES + "\n" + extra)
    assert isinstance(out, Drop) and out.reason == reason
    assert d.text.endswith(extra)  # a dropped page keeps its original text for rejected/


def test_c4_too_few_sentences_and_rules_that_only_see_kept_lines():
    assert reason_of("c4", "One sentence here.\nAnd another one here.") == "too_few_sentences"
    assert reason_of("c4", PROSE_LINES) is None
    # "{" and "lorem ipsum" on lines that the line rules remove do not drop the page.
    assert reason_of("c4", PROSE_LINES + "\nvar x = {a: 1}\nlorem ipsum") is None
    assert reason_of("c4", PROSE_LINES + "\nSome people fuck around.", drop_bad_words=False) is None
    assert reason_of("c4", "One sentence here.", min_sentences=1) is None


def test_c4_hands_fineweb_the_words_of_the_text_it_keeps():
    """C4 tokenizes each kept line to count its sentences and puts the joined tokens in
    the filters' shared word cache (curate.filters.common) for the cleaned text: they must
    be exactly what a fresh tokenization gives, and FineWeb must score the same with them."""
    from curate.filters import common

    texts = [
        PROSE_LINES + "\nRivers carry water to the sea.[1] They change course.[edit]\nMenu",
        "Mr. Smith paid $1,000.50 for U.S. goods, didn't he?\nIt's O'Brien's -- well-known (really).\n" + PROSE_LINES,
        PROSE_LINES.replace(" the ", "  the\t"),  # other whitespace inside lines
    ]
    for language in (None, "en", "zh"):
        for text in texts:
            metadata = {"language": language} if language else {}
            out, doc = run("c4", text + "\nMenu", metadata=dict(metadata))
            assert out is doc and "Menu" not in doc.text
            tokens = common.cached_words(doc.text, language)
            assert tokens == T.words(doc.text, language if language == "zh" else None)
            fineweb = stage("fineweb")
            cached = fineweb.score(doc)
            common._WORDS.clear()
            assert fineweb.score(doc) == cached


def test_words_cut_closing_marks_off_as_the_regex_does():
    """words() cuts "letters + one closing mark" without the regex: the same tokens."""

    def regex_only(text):
        return [t for piece in text.split() for t in ([piece] if piece.isalpha() else T._WORD_RE.findall(piece))]

    rng = random.Random(7)
    alphabet = list("abcXYZ.,;:!?)\"'’-nNtT0 é") + ["\u0301", "Mr", "Dr", "U.S", "n't", "...", "ß", "Σ"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
        assert T.words(text) == regex_only(text), text
    assert T.words("Hello, world. Mr. Smith said: no! (Yes) n. abcd. abcde.") == [
        "Hello",
        ",",
        "world",
        ".",
        "Mr.",
        "Smith",
        "said",
        ":",
        "no",
        "!",
        "(",
        "Yes",
        ")",
        "n.",
        "abcd",
        ".",
        "abcde",
        ".",
    ]


def test_c4_bad_words_list_from_a_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# comment\nmuseum\nsummer months\n")
    _, d = run("c4", PROSE_LINES, bad_words_path=str(path))
    assert d.signals("c4")["bad_words"] == 2
    assert reason_of("c4", PROSE_LINES, bad_words_path=str(path)) == "bad_words"
    bw = BadWords(["ass", "two words"])
    assert bw.count("a class act, glass") == 0  # whole words only
    assert bw.count("What an ASS! two words, again two words") == 2


# ----------------------------------------------------------------------------- FineWeb


@pytest.mark.parametrize(
    "text,reason",
    [
        ("   \n\n  ", "empty"),
        (
            "\n".join(["A heading without a full stop here at all"] * 1 + [f"menu item number {i}" for i in range(9)]),
            "too_few_punctuated_lines",
        ),
        (PROSE_LINES + "\n" + "\n".join(f"Item {i}." for i in range(20)), "too_many_short_lines"),
        (PROSE_LINES + "\n" + PROSE_LINES.split("\n")[0], "duplicated_line_chars"),
        ("\n".join(f"Item {i}." for i in range(40)), "too_many_newlines"),
    ],
)
def test_fineweb_rules_trip_with_their_reason(text, reason):
    assert (
        reason_of("fineweb", text, **({"max_short_line_frac": 1.0} if reason == "too_many_newlines" else {})) == reason
    )


def test_fineweb_passes_prose():
    assert reason_of("fineweb", PROSE_LINES) is None
    _, d = run("fineweb", PROSE_LINES)
    assert d.signals("fineweb")["punct_line_frac"] == 1.0
    # Sentence_Terminal is Unicode-wide: Chinese and Hindi full stops count.
    assert (
        reason_of(
            "fineweb",
            "\n".join(
                ["这是一个很长的中文句子，用来测试标点符号的识别。"] * 1 + ["यह एक लंबा हिंदी वाक्य है जो परीक्षण के लिए है।"]
            ),
        )
        is None
    )


# ----------------------------------------------------------------------------- code


CODE = "\n".join(
    [
        "import os",
        "",
        "def main(path):",
        "    # list the files under path",
        "    for name in os.listdir(path):",
        "        print(os.path.join(path, name))",
        "",
        "if __name__ == '__main__':",
        "    main('.')",
    ]
)


@pytest.mark.parametrize(
    "text,reason",
    [
        (CODE + "\n" + "x = '" + "a" * 1001 + "'", "line_too_long"),
        ("\n".join(["data = [" + "1, " * 40 + "]"] * 5), "mean_line_too_long"),
        ("\n".join(["#" * 20 + " ----- " + "=" * 20] * 5), "too_few_alphanumeric"),
        ("# This file is auto-generated by a tool.\n" + CODE, "autogenerated"),
        ("// Code generated by protoc-gen-go. DO NOT EDIT.\n" + CODE, "autogenerated"),
        ('<?xml version="1.0" encoding="UTF-8"?>\n<root><item>value</item></root>', "xml"),
        ("\n  \n", "empty"),
    ],
)
def test_code_rules_trip_with_their_reason(text, reason):
    assert reason_of("code_quality", text, metadata={"code": {"language": "python"}}) == reason


def test_code_filter_applies_only_to_code_documents():
    long_line = "word " * 300  # 1500 characters, one line: would trip line_too_long
    assert reason_of("code_quality", CODE, metadata={"code": {"language": "python"}}) is None
    assert reason_of("code_quality", long_line, provenance={"path": "src/big.py"}) == "line_too_long"
    assert reason_of("code_quality", long_line, source="stack", sources=["stack"]) == "line_too_long"
    out, d = run("code_quality", long_line, provenance={"url": "https://example.org/page"})
    assert out is d and d.signals("code_quality") == {"is_code": 0}  # prose passes, unscored


# ----------------------------------------------------------------------------- URL


@pytest.mark.parametrize(
    "url,reason",
    [
        ("https://www.pornhub.com/view?id=1", "blocked_domain"),
        ("http://de.m.XVIDEOS.com:8080/", "blocked_domain"),
        ("https://example.org/free-porn-videos", "blocked_word"),
        ("https://example.org/blog/xxx/", "blocked_word"),
        ("https://example.org/pornography-law-review", None),  # a word, not the token "porn"
        ("https://notpornhub.com/", None),  # not a subdomain of a blocked domain
        ("https://news.example.org/science/bees", None),
    ],
)
def test_url_filter_domains_and_words(url, reason):
    assert reason_of("url_filter", PROSE, provenance={"url": url}) == reason


def test_url_filter_lists_from_config_and_files(tmp_path):
    domains = tmp_path / "domains.txt"
    domains.write_text("# blocked\nexample.net\n")
    params = {"domains_path": str(domains), "substrings": ["casino"]}
    assert (
        reason_of("url_filter", PROSE, provenance={"url": "https://shop.example.net/a"}, **params) == "blocked_domain"
    )
    assert (
        reason_of("url_filter", PROSE, provenance={"url": "https://bestonlinecasinos.example.org"}, **params)
        == "blocked_substring"
    )
    assert reason_of("url_filter", PROSE, provenance={"url": "https://pornhub.com/"}, domains=[]) is None
    out, d = run("url_filter", PROSE)  # no URL: passes
    assert out is d and d.signals("url_filter")["has_url"] == 0


# ----------------------------------------------------------------------------- decide / config


def test_decide_reapplies_new_thresholds_to_stored_signals():
    _, d = run("fineweb", PROSE_LINES)
    signals = d.signals("fineweb")
    assert stage("fineweb").decide(signals) is None
    assert stage("fineweb", min_punct_line_frac=1.0).decide(signals) is None
    assert stage("fineweb", max_newlines_per_word=0.01).decide(signals) == "too_many_newlines"
    _, d = run("c4", PROSE_LINES)
    assert stage("c4", min_sentences=50).decide(d.signals("c4")) == "too_few_sentences"


@pytest.mark.parametrize(
    "name,params,message",
    [
        (
            "fineweb",
            {"max_short_line_frac": 1.5},
            "stages.fineweb.max_short_line_frac: must be a fraction between 0 and 1, got 1.5",
        ),
        ("fineweb", {"short_line_length": -1}, "stages.fineweb.short_line_length: must be >= 0, got -1"),
        (
            "gopher_repetition",
            {"dup_line_frac": 2},
            "stages.gopher_repetition.dup_line_frac: must be a fraction between 0 and 1, got 2.0",
        ),
        (
            "gopher_repetition",
            {"dup_ngram_char_frac": {0: 0.1}},
            "stages.gopher_repetition.dup_ngram_char_frac.0: key must be between 1 and 50, got 0",
        ),
        (
            "gopher_quality",
            {"max_bullet_lines_ratio": 3},
            "stages.gopher_quality.max_bullet_lines_ratio: must be a fraction between 0 and 1, got 3.0",
        ),
        ("c4", {"min_words_per_line": -2}, "stages.c4.min_words_per_line: must be >= 0, got -2"),
        (
            "c4",
            {"bad_words_path": "/nonexistent/words.txt"},
            "stages.c4.bad_words_path: no such file: /nonexistent/words.txt",
        ),
        (
            "code_quality",
            {"min_alnum_frac": -0.1},
            "stages.code_quality.min_alnum_frac: must be a fraction between 0 and 1, got -0.1",
        ),
        ("code_quality", {"extensions": ["py"]}, "stages.code_quality.extensions: 'py' must start with '.'"),
        (
            "url_filter",
            {"domains_path": "/nonexistent/d.txt"},
            "stages.url_filter.domains_path: no such file: /nonexistent/d.txt",
        ),
        (
            "fineweb",
            {"max_short_line_frac": "high"},
            "stages.fineweb.max_short_line_frac: expected float | null, got str 'high'",
        ),
    ],
)
def test_bad_config_is_a_one_line_config_error(name, params, message):
    spec = registry.stage(name)
    with pytest.raises(ConfigError) as e:
        build(spec.config_cls, params, f"stages.{name}")
    assert str(e.value) == message and "\n" not in str(e.value)


def test_words_are_cut_as_spacy_cuts_english():
    text = "Mr. Smith paid $1,000.50 for U.S. goods -- well-known, don't you think...? n. A thing it's O'Brien's."
    assert T.words(text) == [
        "Mr.",
        "Smith",
        "paid",
        "$",
        "1,000.50",
        "for",
        "U.S.",
        "goods",
        "--",
        "well",
        "-",
        "known",
        ",",
        "do",
        "n't",
        "you",
        "think",
        "...",
        "?",
        "n.",
        "A",
        "thing",
        "it",
        "'s",
        "O'Brien's",
        ".",
    ]
    assert T.alnum_words(text) == [w for w in T.words(text) if w not in {"$", "--", "-", ",", "...", "?", "."}]


def test_sentences_are_counted_as_spacys_sentencizer_counts_them():
    assert T.count_sentences("Mr. Smith paid 3.5 dollars for U.S. goods. He left!") == 2
    assert T.count_sentences('He said "Hi there." Then he left... and came back?') == 2
    assert T.count_sentences("No end mark here") == 1
    assert T.count_sentences("") == 0
