"""Train-eval decontamination (stage ``decontaminate``): benchmark text out of the
training data, and a per-benchmark report of what was found.

GPT-3's procedure (Brown et al. 2020, appendix C), Beam-free (the Beam transform is
``pipelines/decontam.py``):

- **Eval sets**: JSONL (optionally gzipped) or Parquet files, local or ``gs://``; the
  ``fields`` of a record, in order, form one item's text (a list field, e.g. multiple
  choice options, is joined). An item's id is its ``id_field`` or else its 0-based record
  index (the row of the Hugging Face dataset, lm-eval's ``doc_id``). Anything that
  does not load is a :class:`~curate.config.ConfigError` naming the set and the line.
- **Normalisation**: words are the runs of letters and digits (``[^\\W_]+``), lower
  cased: punctuation, symbols and whitespace are all one separator, so case,
  punctuation and spacing differences do not matter. Digits are kept (GSM8K's numbers
  are part of the item). Each word is hashed with xxh64 and ``n`` consecutive word
  hashes are combined into one 64-bit n-gram hash with numpy
  (:func:`curate.dedup.minhash.combine_word_hashes`, which mixes in the length).
- **Short items**: an item of fewer than ``n`` words is matched whole (one hash over
  all its words) and reported as ``short``.
- **Index** (:class:`NgramIndex`): the distinct n-gram hashes of every item as one
  sorted uint64 array, with the items holding each hash in CSR form (offsets into an
  int32 array of item numbers): 12 bytes per (n-gram, item) pair, a binary search
  per lookup; MMLU's ~14k test items make ~1.5M n-grams, ~18 MB.
- **Common n-grams**: an n-gram found in more than ``max_doc_frequency`` training
  documents of the run (counted before anything is removed) is common text, not
  contamination, and is ignored.
- **Policies**: ``gpt3`` removes each matched span plus ``window_chars`` (200)
  characters on each side (widened to whole words, so no cut word is left), which splits the document into pieces; pieces shorter than
  ``min_fragment_chars`` (200) are removed too, and a document split into more than
  ``max_fragments`` (10) pieces is dropped (as is one with nothing left).
  ``drop_document`` drops every document with a match. Drops are
  ``decontaminate:contaminated``.

datatrove's ``NGramsDecontFilter`` (12-grams, spaCy words, drop the document on the
first match, no common-n-gram rule, no report) is compared in
``bench/bench_decontam.py``.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import json
import os
import re
from typing import Iterable, Literal, NamedTuple, Optional, Sequence

import numpy as np
import xxhash

from curate import io as cio
from curate.dedup.minhash import combine_word_hashes
from curate.dedup.spans import merge_ranges, remove_char_spans
from curate.document import Document, Drop
from curate.params import ConfigError, param
from curate.readers.common import decompressed, field, numbered_lines, optional_str
from curate.registry import register_stage

STAGE = "decontaminate"
DROP_REASON = "contaminated"
METADATA_KEY = "decontaminate"
REPORT_FILE = "decontamination.json"
ITEMS_DIR = "contaminated-items"

_WORD_RE = re.compile(r"[^\W_]+")
_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


# --------------------------------------------------------------------------- config


@dataclasses.dataclass
class EvalSetConfig:
    name: str  # names the report's entry and contaminated-items/<name>.jsonl
    paths: list[str] = param(nonempty=True)  # JSONL (.jsonl, .jsonl.gz) or Parquet (.parquet) files
    fields: list[str] = param(nonempty=True)  # joined, in order, into one item's text
    id_field: Optional[str] = param(None, nonempty=True)  # None: the 0-based record index

    def validate(self, key: str) -> None:
        if not _SET_NAME.fullmatch(self.name):
            raise ConfigError(f"{key}.name: must match [A-Za-z0-9][A-Za-z0-9_.-]*, got {self.name!r}")
        if not self.paths:
            raise ConfigError(f"{key}.paths: expected at least one file")
        if not self.fields:
            raise ConfigError(f"{key}.fields: expected at least one field")


@dataclasses.dataclass
class DecontaminateConfig:
    eval_sets: list[EvalSetConfig] = param(factory=list)
    ngram: int = param(13, min=1)  # GPT-3's n
    policy: Literal["gpt3", "drop_document"] = "gpt3"
    window_chars: int = param(200, min=0)  # gpt3: removed on each side of a matched span
    min_fragment_chars: int = param(200, min=0)  # gpt3: shorter pieces are removed too
    max_fragments: int = param(10, min=1)  # gpt3: a document split into more pieces is dropped
    # An n-gram found in more than this many documents of the run is common text,
    # not contamination (GPT-3: 10). None: every match counts.
    max_doc_frequency: Optional[int] = param(10, min=1)

    def validate(self, key: str) -> None:
        if not self.eval_sets:
            raise ConfigError(f"{key}.eval_sets: expected at least one eval set")
        names = [s.name for s in self.eval_sets]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"{key}.eval_sets[{i}].name: {name!r} named twice")

    def check_files(self, key: str) -> None:
        """Before the run (``pipelines.build.check_stages``): every eval set loads."""
        load_eval_sets(self, key)


# --------------------------------------------------------------------------- eval sets


@dataclasses.dataclass
class EvalItem:
    set_name: str
    item_id: str
    text: str


def _item_text(record, where: str, cfg: EvalSetConfig) -> str:
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: a record must be an object, got {type(record).__name__}")
    parts = []
    for name in cfg.fields:
        value = field(record, name)
        if isinstance(value, (list, tuple)):
            if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
                raise ConfigError(f"{where}: field {name!r} is a list of something other than strings or numbers")
            value = "\n".join(str(v) for v in value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif value is None:
            raise ConfigError(f"{where}: field {name!r} is missing")
        elif not isinstance(value, str):
            raise ConfigError(f"{where}: field {name!r} is a {type(value).__name__}, not a string or a list")
        parts.append(value)
    text = "\n".join(parts)
    if not _WORD_RE.search(text):
        raise ConfigError(f"{where}: the item has no words in fields {', '.join(cfg.fields)}")
    return text


def _records(path: str, data: bytes, label: str):
    """(locator for messages, record) for each record of a JSONL or Parquet file."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as e:  # pyarrow raises several types for a bad file
            raise ConfigError(f"{label}: {path}: not a readable Parquet file ({type(e).__name__}: {e})") from None
        for row, record in enumerate(table.to_pylist()):
            yield f"{path} row {row}", record
        return
    try:
        for n, raw in numbered_lines(decompressed(io.BytesIO(data), path)):
            if not raw.strip():
                continue
            where = f"{path} line {n}"
            try:
                yield where, json.loads(raw)
            except (ValueError, RecursionError) as e:
                raise ConfigError(f"{label}: {where}: invalid JSON ({e})") from None
    except (OSError, EOFError) as e:  # a corrupt or cut gzip file
        raise ConfigError(f"{label}: {path}: not readable ({type(e).__name__}: {e})") from None


def load_eval_set(cfg: EvalSetConfig, key: str = "eval set") -> list[EvalItem]:
    """The items of one eval set; any problem is one ConfigError line naming the set
    (``key``) and the file and line."""
    label = f"{key} {cfg.name!r}"
    items: list[EvalItem] = []
    seen: set = set()
    for path in cfg.paths:
        try:
            data = cio.read_bytes(path)
        except FileNotFoundError:
            raise ConfigError(f"{label}: file not found: {path}") from None
        except Exception as e:  # each filesystem raises its own types
            raise ConfigError(f"{label}: {path}: not readable ({type(e).__name__}: {e})") from None
        prefix = f"{os.path.basename(path)}:" if len(cfg.paths) > 1 else ""
        for index, (where, record) in enumerate(_records(path, data, label)):
            text = _item_text(record, f"{label}: {where}", cfg)
            if cfg.id_field:
                item_id = optional_str(field(record, cfg.id_field)) if isinstance(record, dict) else None
                if item_id is None:
                    raise ConfigError(f"{label}: {where}: id field {cfg.id_field!r} is missing or not a string/integer")
            else:
                item_id = f"{prefix}{index}"
            if item_id in seen:
                raise ConfigError(f"{label}: {where}: id {item_id!r} appears twice")
            seen.add(item_id)
            items.append(EvalItem(cfg.name, item_id, text))
    if not items:
        raise ConfigError(f"{label}: no items in {', '.join(cfg.paths)}")
    return items


# --------------------------------------------------------------------------- words and n-grams


def normalized_words(text: str) -> list[bytes]:
    """GPT-3's normalisation: the letter/digit runs of ``text``, lower cased, as UTF-8."""
    found = _WORD_RE.findall(text)
    if not found:
        return []
    # Lower-casing the joined words gives the same words as lower-casing each one
    # (the space keeps final-sigma rules word-local) at one call per text.
    return " ".join(found).lower().encode("utf-8", "surrogatepass").split(b" ")


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character range of each word of :func:`normalized_words`, in the same order."""
    return [m.span() for m in _WORD_RE.finditer(text)]


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh64_intdigest, words), np.uint64, count=len(words))


def gram_hashes(hashes: np.ndarray, n: int) -> np.ndarray:
    """The hash of each run of ``n`` words (one hash of all words when there are fewer)."""
    return combine_word_hashes(hashes, n)


# --------------------------------------------------------------------------- index


class Matches(NamedTuple):
    """The index n-grams found in one text: for each occurrence, its first word, its
    length in words, and the index's key number (``NgramIndex.keys[key]``)."""

    starts: np.ndarray  # int64
    lengths: np.ndarray  # int64
    keys: np.ndarray  # int64

    def distinct_keys(self) -> np.ndarray:
        return np.unique(self.keys)

    def without(self, common: np.ndarray) -> "Matches":
        if len(common) == 0:
            return self
        keep = ~np.isin(self.keys, common)
        return Matches(self.starts[keep], self.lengths[keep], self.keys[keep])


@dataclasses.dataclass
class ItemRef:
    set_name: str
    item_id: str
    short: bool  # fewer than n words: matched whole


class NgramIndex:
    """Every eval item's n-gram hashes -> the items that contain them.

    ``keys``: sorted distinct uint64 hashes; the items holding ``keys[k]`` are
    ``members[offsets[k]:offsets[k + 1]]`` (numbers into ``items``). ``lengths``: the
    n-gram lengths to look for in a text: ``n``, and the word counts of short items.
    """

    def __init__(self, n: int, keys, offsets, members, items: list[ItemRef], set_items: dict[str, int], lengths):
        self.n = n
        self.keys = keys
        self.offsets = offsets
        self.members = members
        self.items = items
        self.set_items = set_items  # set name -> number of items (in config order)
        self.lengths = tuple(lengths)

    @classmethod
    def build(cls, items: Sequence[EvalItem], n: int, set_names: Sequence[str]) -> "NgramIndex":
        all_hashes, all_items, refs = [], [], []
        lengths = {n}
        for number, item in enumerate(items):
            wh = word_hashes(normalized_words(item.text))
            grams = np.unique(gram_hashes(wh, n))
            all_hashes.append(grams)
            all_items.append(np.full(len(grams), number, np.int32))
            refs.append(ItemRef(item.set_name, item.item_id, len(wh) < n))
            lengths.add(min(len(wh), n))
        keys = np.concatenate(all_hashes) if all_hashes else np.empty(0, np.uint64)
        members = np.concatenate(all_items) if all_items else np.empty(0, np.int32)
        order = np.lexsort((members, keys))
        keys, members = keys[order], members[order]
        distinct, starts = np.unique(keys, return_index=True)
        offsets = np.append(starts, len(keys)).astype(np.int64)
        set_items = {name: 0 for name in set_names}
        for item in items:
            set_items[item.set_name] += 1
        return cls(n, distinct, offsets, members, refs, set_items, sorted(lengths, reverse=True))

    def __len__(self) -> int:
        return len(self.keys)

    def key_items(self, key: int) -> np.ndarray:
        return self.members[self.offsets[key] : self.offsets[key + 1]]

    def find(self, text: str) -> Optional[Matches]:
        """The index n-grams in ``text``, or None when there is none (most texts)."""
        wh = word_hashes(normalized_words(text))
        found = []
        keys = self.keys
        for m in self.lengths:
            if len(wh) < m:
                continue
            grams = gram_hashes(wh, m)
            pos = np.searchsorted(keys, grams)
            pos[pos == len(keys)] = 0
            hit = np.flatnonzero(keys[pos] == grams)
            if len(hit):
                found.append((hit, np.full(len(hit), m), pos[hit]))
        if not found:
            return None
        starts, lengths, ks = (np.concatenate(col).astype(np.int64) for col in zip(*found))
        return Matches(starts, lengths, ks)

    # A staged file: the driver builds the index once, workers load it once per process.
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {
            "n": self.n,
            "items": [[r.set_name, r.item_id, r.short] for r in self.items],
            "set_items": self.set_items,
            "lengths": list(self.lengths),
        }
        np.savez(
            buf,
            keys=self.keys,
            offsets=self.offsets,
            members=self.members,
            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "NgramIndex":
        with np.load(io.BytesIO(data)) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            arrays = z["keys"], z["offsets"], z["members"]
        items = [ItemRef(*r) for r in meta["items"]]
        return cls(meta["n"], *arrays, items, meta["set_items"], meta["lengths"])


def load_eval_sets(config: DecontaminateConfig, key: str = f"stages.{STAGE}") -> list[EvalItem]:
    """Every item of every eval set of ``config`` (ConfigError on any problem)."""
    items: list[EvalItem] = []
    for i, s in enumerate(config.eval_sets):
        items.extend(load_eval_set(s, f"{key}.eval_sets[{i}]"))
    return items


def load_index(config: DecontaminateConfig, key: str = f"stages.{STAGE}") -> NgramIndex:
    """Load every eval set of ``config`` and build the index (ConfigError on any problem)."""
    return NgramIndex.build(load_eval_sets(config, key), config.ngram, [s.name for s in config.eval_sets])


# --------------------------------------------------------------------------- policies


@dataclasses.dataclass
class Outcome:
    """What the policy did to one document that had a non-common match."""

    matched: dict[str, list[str]]  # set -> item ids, in index order
    dropped: bool
    why: str  # dropped: drop_document | too_many_fragments | no_fragment_left; kept: cut
    chars_removed: int  # kept documents: len(before) - len(after); dropped: 0
    fragments: int  # gpt3: pieces the cuts made (before short ones are removed)
    text: Optional[str] = None  # the kept text

    def metadata(self) -> dict:
        return {"matched": self.matched, "chars_removed": self.chars_removed, "fragments": self.fragments}


# A global stage (documents per n-gram are counted over the whole run): the Beam
# transform is pipelines/decontam.py.
@register_stage(STAGE, DecontaminateConfig, transform="pipelines.decontam:Decontaminate")
class Decontaminator:
    """The stage's logic for one document, given the index and the run's common n-grams."""

    def __init__(self, config: DecontaminateConfig, index: NgramIndex):
        self.config = config
        self.index = index

    def matched_items(self, matches: Matches) -> dict[str, list[str]]:
        numbers = np.unique(np.concatenate([self.index.key_items(int(k)) for k in np.unique(matches.keys)]))
        out: dict[str, list[str]] = {}
        for number in numbers.tolist():
            ref = self.index.items[number]
            out.setdefault(ref.set_name, []).append(ref.item_id)
        return out

    def decide(self, text: str, matches: Matches, common: Optional[np.ndarray] = None) -> Optional[Outcome]:
        """The policy on ``text`` with ``matches`` (from :meth:`NgramIndex.find`) minus the
        ``common`` keys; None when no match is left (the document is untouched)."""
        if common is not None:
            matches = matches.without(common)
        if len(matches.keys) == 0:
            return None
        matched = self.matched_items(matches)
        cfg = self.config
        if cfg.policy == "drop_document":
            return Outcome(matched, True, "drop_document", 0, 0)
        spans = word_spans(text)
        starts = [a for a, _ in spans]
        w = cfg.window_chars
        windows = merge_ranges(
            _whole_words(spans, starts, max(0, spans[s][0] - w), min(len(text), spans[s + m - 1][1] + w))
            for s, m in zip(matches.starts.tolist(), matches.lengths.tolist())
        )
        pieces = [(a, b) for a, b in _gaps(windows, len(text)) if text[a:b].strip()]
        if len(pieces) > cfg.max_fragments:
            return Outcome(matched, True, "too_many_fragments", 0, len(pieces))
        short = [(a, b) for a, b in pieces if len(text[a:b].strip()) < cfg.min_fragment_chars]
        if len(short) == len(pieces):
            return Outcome(matched, True, "no_fragment_left", 0, len(pieces))
        new_text = remove_char_spans(text, merge_ranges(windows + short))
        return Outcome(matched, False, "cut", len(text) - len(new_text), len(pieces), new_text)

    def apply(self, doc: Document, outcome: Outcome):
        """The document after ``outcome``: edited (with the metadata) or a Drop."""
        if outcome.dropped:
            return Drop(DROP_REASON, {"why": outcome.why, **outcome.metadata()})
        assert outcome.text is not None  # a kept outcome carries its text
        doc.text = outcome.text
        doc.metadata[METADATA_KEY] = outcome.metadata()
        return doc


def _whole_words(spans, starts, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` widened so that it cuts no word in two (a word it reaches is removed whole)."""
    i = bisect.bisect_right(starts, a) - 1
    if i >= 0 and spans[i][1] > a:
        a = spans[i][0]
    j = bisect.bisect_right(starts, b - 1) - 1
    if j >= 0 and spans[j][1] > b:
        b = spans[j][1]
    return a, b


def _gaps(intervals: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The ranges of ``[0, length)`` outside sorted disjoint ``intervals``."""
    out, cursor = [], 0
    for a, b in intervals:
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < length:
        out.append((cursor, length))
    return out


def common_keys(doc_counts: dict, max_doc_frequency: Optional[int]) -> np.ndarray:
    """Keys found in more than ``max_doc_frequency`` documents, sorted."""
    if max_doc_frequency is None:
        return np.empty(0, np.int64)
    return np.array(sorted(k for k, c in doc_counts.items() if c > max_doc_frequency), np.int64)


# --------------------------------------------------------------------------- report


def tally_outcome(tally: dict, outcome: Outcome) -> dict:
    """Add one document's outcome to ``tally``: per set, documents cut and dropped,
    characters removed, and per found item the documents it was found in (a mergeable
    accumulator: the Beam combine adds them with :func:`merge_tallies`)."""
    for set_name, ids in outcome.matched.items():
        t = tally.setdefault(set_name, {"docs_cut": 0, "docs_dropped": 0, "chars_removed": 0, "items": {}})
        t["docs_dropped" if outcome.dropped else "docs_cut"] += 1
        t["chars_removed"] += outcome.chars_removed
        for item_id in ids:
            t["items"][item_id] = t["items"].get(item_id, 0) + 1
    return tally


def merge_tallies(tallies: Iterable[dict]) -> dict:
    out: dict = {}
    for tally in tallies:
        for set_name, t in tally.items():
            o = out.setdefault(set_name, {"docs_cut": 0, "docs_dropped": 0, "chars_removed": 0, "items": {}})
            for name in ("docs_cut", "docs_dropped", "chars_removed"):
                o[name] += t[name]
            for item_id, n in t["items"].items():
                o["items"][item_id] = o["items"].get(item_id, 0) + n
    return out


def build_report(config: DecontaminateConfig, index: NgramIndex, tally: dict, common: np.ndarray) -> tuple[dict, dict]:
    """``decontamination.json``'s content, and per set the lines of
    ``contaminated-items/<set>.jsonl`` (one JSON object per found item, in set order)."""
    common_by_set: dict[str, int] = {}
    for k in np.asarray(common).tolist():
        for name in sorted({index.items[i].set_name for i in index.key_items(int(k)).tolist()}):
            common_by_set[name] = common_by_set.get(name, 0) + 1
    sets, lines = {}, {}
    for s in config.eval_sets:
        t = tally.get(s.name, {"docs_cut": 0, "docs_dropped": 0, "chars_removed": 0, "items": {}})
        refs = [r for r in index.items if r.set_name == s.name]
        found = [r for r in refs if r.item_id in t["items"]]
        sets[s.name] = {
            "paths": s.paths,
            "fields": s.fields,
            "items": len(refs),
            "short_items": sum(r.short for r in refs),
            "items_found": len(found),
            "found_ids": [r.item_id for r in found],
            "docs_cut": t["docs_cut"],
            "docs_dropped": t["docs_dropped"],
            "chars_removed": t["chars_removed"],
            "common_ngrams_ignored": common_by_set.get(s.name, 0),
        }
        lines[s.name] = [{"id": r.item_id, "docs": t["items"][r.item_id], "short": r.short} for r in found]
    report = {
        "stage": STAGE,
        "ngram": config.ngram,
        "policy": config.policy,
        "window_chars": config.window_chars,
        "min_fragment_chars": config.min_fragment_chars,
        "max_fragments": config.max_fragments,
        "max_doc_frequency": config.max_doc_frequency,
        "index_ngrams": len(index),
        "common_ngrams_ignored": int(len(common)),
        "sets": sets,
    }
    return report, lines


def report_files(report: dict, lines: dict) -> dict[str, bytes]:
    """Relative path -> bytes of the report files."""
    files = {REPORT_FILE: json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8")}
    for name, rows in lines.items():
        files[f"{ITEMS_DIR}/{name}.jsonl"] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(
            "utf-8"
        )
    return files


def write_report(out_dir: str, report: dict, lines: dict) -> None:
    for rel, data in report_files(report, lines).items():
        cio.write_bytes(cio.join(out_dir, *rel.split("/")), data)


SUMMARY_FIELDS = (
    "items",
    "short_items",
    "items_found",
    "docs_cut",
    "docs_dropped",
    "chars_removed",
    "common_ngrams_ignored",
)


def manifest_section(report: dict) -> dict:
    """The report's figures per eval set (without the item ids), for manifest.json."""
    return {
        "report": REPORT_FILE,
        "sets": {name: {k: s[k] for k in SUMMARY_FIELDS} for name, s in report["sets"].items()},
    }


def summary_lines(report: dict) -> list[str]:
    """One line per eval set for the run's terminal summary (``report``: the report or
    its :func:`manifest_section`)."""
    out = []
    for name, s in report["sets"].items():
        short = f" ({s['short_items']} short)" if s["short_items"] else ""
        out.append(
            f"{name}: {s['items_found']:,} of {s['items']:,} items{short} found; "
            f"{s['docs_cut']:,} docs cut, {s['docs_dropped']:,} dropped, {s['chars_removed']:,} chars removed, "
            f"{s['common_ngrams_ignored']:,} common n-grams ignored"
        )
    return out


# --------------------------------------------------------------------------- whole run


def decontaminate_documents(docs: Sequence[Document], config: DecontaminateConfig, index: Optional[NgramIndex] = None):
    """The whole stage on one machine: (each document in order, kept or Drop; report;
    contaminated-item lines). Same result as the Beam transform (tested)."""
    index = index or load_index(config)
    stage = Decontaminator(config, index)
    found = [index.find(d.text) for d in docs]
    counts: dict[int, int] = {}
    for m in found:
        if m is not None:
            for k in m.distinct_keys().tolist():
                counts[k] = counts.get(k, 0) + 1
    common = common_keys(counts, config.max_doc_frequency)
    out: list = []
    tally: dict = {}
    for doc, m in zip(docs, found):
        outcome = stage.decide(doc.text, m, common) if m is not None else None
        if outcome is None:
            out.append(doc)
            continue
        tally_outcome(tally, outcome)
        out.append(stage.apply(doc, outcome))
    report, lines = build_report(config, index, tally, common)
    return out, report, lines
