"""C4's cleaning (Raffel et al. 2020, section 2.2; TFDS ``c4_utils.clean_page``).

Line rules edit the text: a line is removed if it has a whitespace-separated word
longer than ``max_word_length``, does not end in terminal punctuation (or ends in
"..."), has fewer than ``min_words_per_line`` words, mentions "javascript", or holds a
cookie/privacy/terms phrase. Wikipedia-style citations ("[1]", "[edit]", "[citation
needed]") are stripped first. The kept lines, joined with "\\n", replace ``doc.text``.

Page rules drop the document: "lorem ipsum" or a "{" on a line that passed the
punctuation and length rules, fewer than ``min_sentences`` sentences in the kept text,
or a word of the bad-words list in the kept text.

Thresholds: ``min_words_per_line=3`` and ``min_sentences=5`` as datatrove (and so
FineWeb) uses them and attributes them to the paper; TFDS's code uses 5 and 3. Both are
settable. The line rules are part of *scoring* (they produce the text); ``decide`` only
sees the page rules, so ``refilter`` can change those without rescoring.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional, Union

from curate import text as T
from curate.base import Filter
from curate.document import Document, Drop
from curate.filters.common import below, read_list, remember_words
from curate.model_files import file_key, shared
from curate.params import ConfigError, language_overrides, param, threshold
from curate.registry import register_stage

CITATION_RE = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
DEFAULT_BAD_WORDS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "badwords_en.txt")


@dataclasses.dataclass
class C4Config:
    # line rules (they edit the text, so they are scoring parameters: a refilter cannot change them)
    max_word_length: Optional[int] = param(1000, min=1)
    remove_citations: bool = True
    terminal_punctuation: list[str] = param(factory=lambda: [".", "?", "!", '"', "'"], nonempty=True)
    drop_ellipsis_lines: bool = True
    min_words_per_line: Optional[int] = param(3, min=0)
    drop_javascript_lines: bool = True
    policy_phrases: list[str] = param(factory=lambda: list(POLICY_PHRASES))
    # page rules (they drop the document)
    drop_lorem_ipsum: bool = threshold(True)
    drop_curly_bracket: bool = threshold(True)
    min_sentences: Optional[int] = threshold(5, min=0)
    drop_bad_words: bool = threshold(True)
    bad_words_path: Optional[str] = None  # one entry per line; default: the shipped English list
    per_language: bool = True  # false: every document cleaned as English
    # {language: {field: value}}, over the derived defaults (terminal punctuation of other scripts)
    languages: dict[str, dict] = language_overrides("c4")

    def validate(self, key: str) -> None:
        if (
            self.bad_words_path is not None
            and "://" not in self.bad_words_path
            and not os.path.isfile(self.bad_words_path)
        ):
            raise ConfigError(f"{key}.bad_words_path: no such file: {self.bad_words_path}")


class BadWords:
    """Finds list entries standing as whole words in lower-cased text.

    One-word entries are looked up in the set of the text's ``\\w+`` runs (cheap);
    entries with spaces or symbols go through one regex with non-word flanks.
    """

    def __init__(self, entries: list[str]):
        entries = sorted({e.strip().lower() for e in entries if e.strip()})
        self.words = frozenset(e for e in entries if re.fullmatch(r"\w+", e))
        others = [re.escape(e) for e in entries if e not in self.words]
        self.phrases = re.compile(r"(?<!\w)(?:%s)(?!\w)" % "|".join(others)) if others else None

    def count(self, text: str) -> int:
        """Number of distinct entries found."""
        lower = text.lower()
        found = len(self.words.intersection(re.findall(r"\w+", lower)))
        if self.phrases is not None:
            found += len(set(self.phrases.findall(lower)))
        return found


def load_bad_words(path: str) -> BadWords:
    """Read a bad-words file once per process (:func:`curate.model_files.shared`; '#' starts a comment line)."""
    return shared(("bad_words",) + file_key(path), lambda: BadWords(read_list(path)))


def clean_lines(text: str, c: C4Config, language: Optional[str] = None) -> tuple[str, dict, list[str]]:
    """Apply C4's line rules; return the kept text, the counts behind it and the kept
    text's :func:`curate.text.words` tokens (language-independent, as sentences are
    counted: each kept line is tokenized once for its sentences, and no token spans the
    newline joining two lines). Words are whitespace-separated, after a segmenter for
    ``language`` (:func:`curate.text.whitespace_words`)."""
    max_len = c.max_word_length
    min_words = c.min_words_per_line
    ends = tuple(c.terminal_punctuation)
    policy = tuple(c.policy_phrases)
    n = {"long_word": 0, "no_terminal_punct": 0, "ellipsis": 0, "too_few_words": 0, "javascript": 0, "policy": 0}
    citations = 0
    sentences = 0
    lorem = curly = 0
    kept = []
    tokens: list[str] = []
    lines_in = 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        lines_in += 1
        # a word longer than max_len needs a line longer than that: test the cheap thing first
        if max_len is not None and len(line) > max_len and max(map(len, T.whitespace_words(line, language))) > max_len:
            n["long_word"] += 1
            continue
        if c.remove_citations and "[" in line:
            line, k = CITATION_RE.subn("", line)
            citations += k
        if ends and not line.endswith(ends):
            n["no_terminal_punct"] += 1
            continue
        if c.drop_ellipsis_lines and line.endswith("..."):
            n["ellipsis"] += 1
            continue
        if min_words is not None and len(T.whitespace_words(line, language)) < min_words:
            n["too_few_words"] += 1
            continue
        lower = line.lower()
        if "lorem ipsum" in lower:
            lorem = 1
        if c.drop_javascript_lines and "javascript" in lower:
            n["javascript"] += 1
            continue
        if "{" in line:
            curly = 1
        if policy and any(p in lower for p in policy):
            n["policy"] += 1
            continue
        kept.append(line)
        line_tokens = T.words(line)
        tokens += line_tokens
        sentences += T.sentences_in(line_tokens)  # per line, as C4 counts: no sentence spans two
    cleaned = "\n".join(kept)
    signals = {
        "lines_in": lines_in,
        "lines_kept": len(kept),
        **{f"lines_dropped_{k}": v for k, v in n.items()},
        "citations_removed": citations,
        "chars_removed": len(text) - len(cleaned),
        "lorem_ipsum": lorem,
        "curly_bracket": curly,
        "sentences": sentences,
    }
    return cleaned, signals, tokens


@register_stage("c4", C4Config)
class C4(Filter):
    """Edits ``doc.text`` (kept lines only) and drops pages by C4's page rules."""

    def setup(self) -> None:
        self._bad_words = load_bad_words(self.config.bad_words_path or DEFAULT_BAD_WORDS)

    def clean(self, doc: Document) -> tuple[str, dict]:
        language = self.language_of(doc)
        cleaned, signals, tokens = clean_lines(doc.text, self.config_for(language), language)
        remember_words(cleaned, None, tokens)  # FineWeb counts the cleaned text's words next
        if language:
            signals["language"] = language  # decide() applies that language's thresholds
        # counted even when the rule is off, so refilter can turn it on
        signals["bad_words"] = self._bad_words.count(cleaned)
        return cleaned, signals

    def score(self, doc: Document) -> dict:
        return self.clean(doc)[1]

    def process(self, doc: Document) -> Union[Document, Drop]:
        cleaned, signals = self.clean(doc)
        self.store(doc, signals)
        reason = self.decide(signals)
        if reason is not None:
            return Drop(reason, {"signals": signals})  # the rejected record keeps the original text
        doc.text = cleaned
        return doc

    def thresholds(self) -> dict:
        c = self.config
        return {"sentences": (c.min_sentences, None), **({"bad_words": (None, 0)} if c.drop_bad_words else {})}

    def decide(self, s: dict) -> Optional[str]:
        c = self.config_for(s.get("language"))
        if c.drop_lorem_ipsum and s["lorem_ipsum"]:
            return "lorem_ipsum"
        if c.drop_curly_bracket and s["curly_bracket"]:
            return "curly_bracket"
        if below(s["sentences"], c.min_sentences):
            return "too_few_sentences"
        if c.drop_bad_words and s["bad_words"] > 0:
            return "bad_words"
        return None
