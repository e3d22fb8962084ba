"""Words per language (curate.lang behind curate.text.words) and the word-based stages
that use them, on hand-made text in several scripts."""

import pytest

from curate import lang
from curate import text as T
from curate.dedup import minhash as M
from curate.dedup.spans import span_words, worth_cutting
from curate.document import Document
from tests.test_filters import run

ZH = "我们今天去北京大学参观。天气很好，大家都很高兴！"
JA = "今日は東京大学へ行きました。天気が良かったです。"
TH = "ภาษาไทยเป็นภาษาที่สวยงาม มีคนพูดหลายล้านคน"
STORY = (
    "我们今天去北京大学参观了一个很大的图书馆。图书馆里有很多学生在安静地看书。"
    "中午我们在学校的食堂吃了饭，饭菜又便宜又好吃。下午老师带我们去看了博物馆，"
    "那里有许多古代的文物和书画。天气很好，大家都很高兴。晚上我们一起吃了北京烤鸭，"
    "然后坐地铁回到了酒店。明天我们打算去长城，听说那里的风景非常美丽。"
)


def test_languages_without_spaces_are_cut_into_words():
    assert T.words(ZH, "zh") == [
        "我们",
        "今天",
        "去",
        "北京大学",
        "参观",
        "。",
        "天气",
        "很",
        "好",
        "，",
        "大家",
        "都",
        "很",
        "高兴",
        "！",
    ]
    assert T.words(JA, "ja") == [
        "今日",
        "は",
        "東京",
        "大学",
        "へ",
        "行き",
        "まし",
        "た",
        "。",
        "天気",
        "が",
        "良かっ",
        "た",
        "です",
        "。",
    ]
    assert T.words(TH, "th") == ["ภาษาไทย", "เป็น", "ภาษา", "ที่", "สวยงาม", "มี", "คนพูด", "หลาย", "ล้าน", "คน"]
    # without the language a whole clause is one "word"
    assert T.words(ZH) == ["我们今天去北京大学参观", "。", "天气很好", "，", "大家都很高兴", "！"]
    # Latin words, numbers and punctuation inside a segmented text come out as elsewhere
    assert T.words("我用Python 3.11写了1,000行代码。", "zh")[-4:] == ["1,000", "行", "代码", "。"]
    assert "Python" in T.words("我用Python 3.11写了1,000行代码。", "zh")


def test_spaced_languages_are_split_as_before():
    ru = "Москва — столица России, город с населением 13 млн человек."
    de = "Die Straße heißt „Am Rhein“, nicht wahr?"
    for text, language in ((ru, "ru"), (de, "de"), ("Don't stop, Mr. Smith.", "en")):
        assert T.words(text, language) == T.words(text)
        assert lang.spaced(text, language) is text  # no copy, no segmenter loaded
    assert T.words(ru)[:3] == ["Москва", "—", "столица"]


def test_combining_marks_stay_inside_their_word():
    assert T.words("हिंदी भाषा बहुत सुंदर है।") == ["हिंदी", "भाषा", "बहुत", "सुंदर", "है", "।"]
    assert T.words("cafe\u0301 au lait") == ["cafe\u0301", "au", "lait"]
    # a space-separated Thai text without the language: runs, but vowel signs stay in them
    assert T.words("เป็น ภาษา") == ["เป็น", "ภาษา"]


def test_each_segmenter_is_loaded_once_per_process():
    assert lang.segmenter("jieba") is lang.segmenter("jieba")
    assert lang.segmenter_name("zh") == lang.segmenter_name("yue") == "jieba"
    assert lang.segmenter_name("de") is None and lang.segmenter_name(None) is None


def test_c4_words_per_line_are_segmenter_words():
    assert T.whitespace_words("我们今天去北京大学参观。", "zh") == ["我们", "今天", "去", "北京大学", "参观", "。"]
    assert T.whitespace_words("a b  c", "de") == ["a", "b", "c"]
    line = "我们今天去北京大学参观了一个很大的图书馆。"
    out, doc = run("c4", "\n".join([line] * 6), metadata={"language": "zh"}, terminal_punctuation=["。"])
    assert doc.signals("c4")["lines_dropped_too_few_words"] == 0  # one whitespace "word", many real ones
    out, doc = run("c4", "\n".join([line] * 6), terminal_punctuation=["。"])
    assert doc.signals("c4")["lines_dropped_too_few_words"] == 6


def test_gopher_counts_chinese_words_with_the_segmenter():
    text = (ZH * 20).replace("！", "！\n")
    _, with_lang = run("gopher_quality", text, metadata={"language": "zh"})
    _, without = run("gopher_quality", text)
    n = with_lang.signals("gopher_quality")["n_words"]
    assert n == len(T.alnum_words(text, "zh")) == 12 * 20
    assert without.signals("gopher_quality")["n_words"] == 3 * 20
    assert with_lang.signals("gopher_quality")["mean_word_length"] < 2.5
    _, rep = run("gopher_repetition", text, metadata={"language": "zh"})
    assert rep.signals("gopher_repetition")["top_2_gram_char_frac"] > 0  # word 2-grams exist
    _, fw = run("fineweb", text, metadata={"language": "zh"})
    assert fw.signals("fineweb")["newlines_per_word"] == pytest.approx(text.count("\n") / len(T.words(text, "zh")))


def test_span_words_use_the_segmenter():
    assert span_words(ZH, "zh") == 12
    assert span_words(ZH) == len(ZH) - 3  # no language: one word per Chinese character
    assert span_words("Москва — столица России.", "ru") == 3
    assert worth_cutting(ZH, 0, len(ZH), 12, 10, "zh") and not worth_cutting(ZH, 0, len(ZH), 13, 10, "zh")


def test_minhash_default_path_is_unchanged_and_chinese_is_shingled_by_word():
    h = M.MinHasher(5, 112, 1)
    texts = ["The quick brown fox jumps over the lazy dog.", "Eine kleine Nachtmusik, bitte!", "", ZH]
    flat, lengths = h.batch_shingle_hashes(texts)
    flat2, lengths2 = h.batch_shingle_hashes(texts[:3], ["en", "de", None])
    assert flat2.tobytes() == flat[: lengths[:3].sum()].tobytes() and list(lengths2) == list(lengths[:3])
    # Chinese without segmentation: each clause is one word; with it, word 5-grams
    assert h.batch_shingle_hashes([ZH])[1][0] == 1
    assert h.batch_shingle_hashes([ZH], ["zh"])[1][0] == 12 - 5 + 1
    # a one-word edit leaves most word shingles shared
    a = STORY
    b = a.replace("烤鸭", "面条", 1)
    seg = [
        M.distinct_sorted(x) for x in (h.batch_shingle_hashes([a], ["zh"])[0], h.batch_shingle_hashes([b], ["zh"])[0])
    ]
    raw = [M.distinct_sorted(h.shingle_hashes(x)) for x in (a, b)]
    assert M.set_jaccard(*seg) > 0.6 > M.set_jaccard(*raw)


def test_minhash_stage_clusters_chinese_near_duplicates():
    base = STORY
    docs = [
        Document("a", base, "web", metadata={"language": "zh"}),
        Document("b", base.replace("烤鸭", "面条", 1), "web", metadata={"language": "zh"}),
        Document("c", "完全不同的一篇文章，讲的是上海的天气和交通。" * 5, "web", metadata={"language": "zh"}),
    ]
    cfg = M.MinHashDedupConfig(keep="smallest_id")
    out = M.dedup_documents(docs, cfg)
    assert [type(o).__name__ for o in out] == ["Document", "Rejected", "Document"]
    for d in docs:  # without the language, the edited copy is not found
        d.metadata.clear()
    assert [type(o).__name__ for o in M.dedup_documents(docs, cfg)] == ["Document"] * 3


# ----------------------------------------------------------------------------- per-language parameters

import json  # noqa: E402

from curate import langparams  # noqa: E402
from curate.config import ConfigError, build  # noqa: E402
from curate.filters.gopher import GopherQualityConfig  # noqa: E402
from curate.params import fingerprint, scoring_params  # noqa: E402
from tests.test_filters import stage  # noqa: E402

DE = (
    "Die Stadt liegt am Ufer des Flusses und ist seit dem Mittelalter ein wichtiger Ort für den Handel. "
    "Im Sommer kommen viele Besucher, die durch die Altstadt mit ihren engen Gassen gehen und das Museum "
    "besuchen. Das Museum zeigt, wie die Menschen früher gelebt haben, und es ist nicht sehr groß. "
    "Ich war im letzten Jahr dort, und die Ausstellung über die Geschichte der Brücke hat mir gefallen. "
    "Von der Brücke aus sieht man den Dom, der auf einem Hügel über der Stadt steht."
)
LARGEST_CC = "ru de ja zh es fr it pt pl nl vi id tr cs fa sv ro hu uk".split()  # after English; ko left out


def test_shipped_table_is_the_derivation_from_licensed_sources():
    table = json.loads(open(langparams.PATH, encoding="utf-8").read())
    fresh = langparams.derive(("de", "zh", "th"))
    for section in ("gopher_quality", "c4"):
        for language in ("de", "zh", "th"):
            assert table[section][language] == fresh[section][language]
    assert table["reference"]["en"] == fresh["reference"]["en"]
    with_stops = [lang for lang in LARGEST_CC if "stop_words" in table["gopher_quality"].get(lang, {})]
    assert len(with_stops) == len(LARGEST_CC) == 19
    assert table["gopher_quality"]["de"]["stop_words"][:3] == ["die", "der", "und"]
    assert table["gopher_quality"]["zh"]["max_mean_word_length"] < 4  # Chinese words are short


def test_german_page_meets_german_rules_not_english_ones():
    before, _ = run("gopher_quality", DE, metadata={"language": "de"}, per_language=False)
    assert before.reason == "too_few_stop_words"  # Gopher's stop words are English
    after, doc = run("gopher_quality", DE, metadata={"language": "de"})
    assert isinstance(after, Document)
    s = doc.signals("gopher_quality")
    assert s["language"] == "de" and s["stop_words"] >= 2
    # an English page is still held to Gopher's own list
    _, en = run("gopher_quality", DE, metadata={"language": "en"})
    assert en.signals("gopher_quality")["stop_words"] == 0


def test_no_reference_no_stop_word_rule():
    for language in ("he", "xx"):  # lists that do not meet / a language with no data
        out, doc = run("gopher_quality", DE, metadata={"language": language})
        assert doc.signals("gopher_quality")["stop_words"] is None and isinstance(out, Document)
    # without a language (no language_id), Gopher's list applies as before
    out, doc = run("gopher_quality", DE)
    assert out.reason == "too_few_stop_words" and "language" not in doc.signals("gopher_quality")


def test_chinese_page_meets_chinese_word_lengths():
    text = STORY * 3
    before, _ = run("gopher_quality", text, metadata={"language": "zh"}, per_language=False)
    assert before.reason == "too_few_words"  # clauses as words: 14 per copy
    after, doc = run("gopher_quality", text, metadata={"language": "zh"})
    assert isinstance(after, Document), doc.signals("gopher_quality")
    c4_out, c4_doc = run("c4", "\n".join(STORY.replace("。", "。\n").split("\n")), metadata={"language": "zh"})
    assert c4_doc.signals("c4")["lines_dropped_no_terminal_punct"] == 0  # "。" ends a sentence


def test_per_language_thresholds_are_thresholds_and_stop_words_scoring():
    key = "stages.gopher_quality"
    base = build(GopherQualityConfig, {}, key)
    looser = build(GopherQualityConfig, {"languages": {"de": {"min_words": 500}}}, key)
    assert looser.languages["de"]["min_words"] == 500 and "stop_words" in looser.languages["de"]  # merged
    assert fingerprint("gopher_quality", looser) == fingerprint("gopher_quality", base)
    other_stops = build(GopherQualityConfig, {"languages": {"de": {"stop_words": ["und"]}}}, key)
    assert scoring_params(other_stops)["languages"]["de"] == {"stop_words": ["und"]}
    assert fingerprint("gopher_quality", other_stops) != fingerprint("gopher_quality", base)
    # decide() on stored signals applies the language's threshold, as a refilter does
    _, doc = run("gopher_quality", DE, metadata={"language": "de"})
    signals = doc.signals("gopher_quality")
    flt = stage("gopher_quality", languages={"de": {"min_words": 500}})
    assert flt.decide(signals) == "too_few_words"
    assert flt.decide(dict(signals, language="fr")) is None


@pytest.mark.parametrize(
    "languages, message",
    [
        ({"de": {"min_wrods": 1}}, r"stages.gopher_quality.languages.de.min_wrods: cannot be set per language"),
        ({"de": {"min_words": "many"}}, r"stages.gopher_quality.languages.de.min_words: expected int"),
        ({"de": {"min_words": 200_000}}, r"stages.gopher_quality.languages.de.min_words: greater than max_words"),
        ({"de": {"per_language": False}}, r"languages.de.per_language: cannot be set per language"),
        ({"de": 3}, r"stages.gopher_quality.languages.de: expected dict"),
    ],
)
def test_bad_per_language_settings_are_one_line_config_errors(languages, message):
    with pytest.raises(ConfigError, match=message):
        build(GopherQualityConfig, {"languages": languages}, "stages.gopher_quality")
