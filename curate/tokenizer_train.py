"""``curate train-tokenizer``: a SentencePiece model trained on an output's shards or on
text files, with a card that says what it was trained on and what came out.

The sample streams: shards are read a row group at a time (``id`` and ``text`` only),
text files one at a time, and a heap keeps the ``sample_docs`` documents with the
smallest xxh64 of their id (a file's id is its path) - the rule the in-run trainer uses
(``tokenizer.train``), so the sample does not depend on read order. Training settings
are :func:`curate.tokenize.train_model`'s (identity normalisation, so decode(encode(t))
== t), with the unigram or BPE algorithm, byte fallback on or off and special tokens
(user-defined symbols, never split).

SentencePiece's ``hard_vocab_limit`` is off, so a small sample yields a smaller
vocabulary instead of an error. The card then says so and why, from SentencePiece's own
log: unigram training starts from the frequent substrings of the sample ("seed pieces")
and only prunes them, so a sample with fewer seed pieces than asked cannot reach the size;
BPE stops when no pair of adjacent pieces occurs twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import heapq
import os
import re
import tempfile
from typing import Iterable, Iterator, Optional

import pyarrow.parquet as pq
import xxhash

from curate import io as cio
from curate import tokenize as tok
from curate.loader import read_manifest, shard_entries

MODEL_FILE = "spm.model"
CARD_FILE = "tokenizer_card.json"
CARD_MD = "tokenizer_card.md"


@dataclasses.dataclass
class TrainOptions:
    vocab_size: int = 8000
    model_type: str = "unigram"  # or "bpe"
    sample_docs: int = 20000
    byte_fallback: bool = True
    special_tokens: tuple = ()
    character_coverage: float = 0.9995
    max_sentence_length: int = 16384


def output_documents(out_dir: str) -> Iterator[tuple[str, str]]:
    """(id, text) of an output's training shards, a row group at a time."""
    for entry in shard_entries(read_manifest(out_dir), "train"):
        with cio.open_read(cio.join(out_dir, entry["path"])) as f:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                t = pf.read_row_group(i, columns=["id", "text"])
                yield from zip(t.column("id").to_pylist(), t.column("text").to_pylist())


def file_documents(patterns: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(path, text) of text files (UTF-8; undecodable bytes replaced), one file one document."""
    paths = sorted({p for pattern in patterns for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)})
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            yield path, f.read()


def sample(documents: Iterable[tuple[str, str]], n: int) -> tuple[list[str], int]:
    """The texts of the ``n`` documents with the smallest id hashes (in that order, as the
    in-run trainer takes them), and how many documents were seen; memory holds ``n``."""
    seen = 0

    def keyed():
        nonlocal seen
        for doc_id, text in documents:
            seen += 1
            yield xxhash.xxh64_intdigest(doc_id.encode("utf-8")), doc_id, text

    chosen = heapq.nsmallest(n, keyed())
    return [text for _, _, text in chosen], seen


@contextlib.contextmanager
def _captured_stderr():
    """SentencePiece logs from C++ to file descriptor 2: collect it (the card reads it)."""
    captured = {"text": ""}
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured["text"] = tmp.read().decode("utf-8", "replace")


def _log_number(log: str, pattern: str) -> Optional[int]:
    found = re.findall(pattern, log)
    return int(found[-1]) if found else None


def train(texts: list[str], opts: TrainOptions) -> tuple[bytes, dict]:
    """Train; return the model and the card's ``model`` and ``vocabulary`` sections."""
    with _captured_stderr() as log:
        model = tok.train_model(
            texts,
            opts.vocab_size,
            opts.model_type,
            opts.max_sentence_length,
            opts.character_coverage,
            byte_fallback=opts.byte_fallback,
            special_tokens=list(opts.special_tokens),
            verbose=True,
        )
    proc = tok.load_processor(model)
    got = proc.get_piece_size()
    kinds = {"control": 0, "byte": 0, "user_defined": 0, "unknown": 0, "normal": 0}
    for i in range(got):
        if proc.is_control(i):
            kinds["control"] += 1
        elif proc.is_byte(i):
            kinds["byte"] += 1
        elif proc.is_unknown(i):
            kinds["unknown"] += 1
        elif proc.is_unused(i):
            kinds.setdefault("unused", 0)
            kinds["unused"] += 1
        else:
            kinds["normal" if proc.id_to_piece(i) not in opts.special_tokens else "user_defined"] += 1
    seeds = _log_number(log["text"], r"Initialized (\d+) seed (?:sentence)?pieces")
    alphabet = _log_number(log["text"], r"Alphabet size=(\d+)")
    vocab = {
        "asked": opts.vocab_size,
        "got": got,
        "pieces_by_kind": kinds,
        "sample_alphabet_size": alphabet,
        "unigram_seed_pieces": seeds,
        "smaller_than_asked": got < opts.vocab_size,
        "why_smaller": why_smaller(opts, got, kinds, seeds, alphabet) if got < opts.vocab_size else None,
    }
    return model, vocab


def why_smaller(opts: TrainOptions, got: int, kinds: dict, seeds: Optional[int], alphabet: Optional[int]) -> str:
    """The reason, in words, from what SentencePiece logged."""
    made = f"{kinds['normal']:,} learned pieces plus {kinds['byte']} byte and {kinds['control'] + kinds['unknown']} control pieces"
    if opts.model_type == "unigram":
        seeds_text = f"only {seeds:,} candidate pieces" if seeds is not None else "too few candidate pieces"
        return (
            f"asked for {opts.vocab_size:,} pieces, got {got:,} ({made}): the sample gave {seeds_text} "
            f"(its frequent substrings, over an alphabet of {alphabet} characters), fewer than asked; unigram "
            f"training starts from these candidates, drops those the sample's best segmentations do not use, and "
            f"never adds new ones. A larger or more varied sample, or a smaller vocab_size, fixes it."
        )
    return (
        f"asked for {opts.vocab_size:,} pieces, got {got:,} ({made}): BPE stops merging when no pair of adjacent "
        f"pieces occurs at least twice in the sample. A larger sample, or a smaller vocab_size, fixes it."
    )


def train_tokenizer(documents: Iterable[tuple[str, str]], source: dict, opts: TrainOptions, output_dir: str) -> dict:
    """Sample, train, write ``spm.model`` and the card (JSON and Markdown); return the card."""
    texts, seen = sample(documents, opts.sample_docs)
    model, vocab = train(texts, opts)
    card = {
        "model": {
            "file": MODEL_FILE,
            "sha256": tok.model_sha256(model),
            "size_bytes": len(model),
            "type": opts.model_type,
            "byte_fallback": opts.byte_fallback,
            "special_tokens": list(opts.special_tokens),
            "character_coverage": opts.character_coverage,
            "normalization": "identity: decode(encode(text)) == text"
            + (
                "" if opts.byte_fallback else ", except characters outside the vocabulary (<unk> without byte fallback)"
            ),
        },
        "vocabulary": vocab,
        "sample": {
            **source,
            "documents_seen": seen,
            "documents_used": len(texts),
            "characters": sum(len(t) for t in texts),
            "rule": "the sample_docs documents with the smallest xxh64 of their id (a file's id is its path)",
            "sample_docs": opts.sample_docs,
        },
    }
    cio.write_bytes(cio.join(output_dir, MODEL_FILE), model)
    cio.write_bytes(cio.join(output_dir, CARD_FILE), (_json(card) + "\n").encode("utf-8"))
    cio.write_bytes(cio.join(output_dir, CARD_MD), card_markdown(card).encode("utf-8"))
    return card


def _json(obj) -> str:
    import json

    return json.dumps(obj, indent=2, ensure_ascii=False)


def card_markdown(card: dict) -> str:
    m, v, s = card["model"], card["vocabulary"], card["sample"]
    lines = [
        "# Tokenizer card",
        "",
        f"- model: `{m['file']}` (SentencePiece {m['type']}, {m['size_bytes']:,} bytes, sha256 `{m['sha256'][:16]}…`)",
        f"- vocabulary: {v['got']:,} pieces ({v['asked']:,} asked): "
        + ", ".join(f"{n} {k}" for k, n in v["pieces_by_kind"].items() if n),
        f"- byte fallback: {'on' if m['byte_fallback'] else 'off'}; special tokens: "
        + (", ".join(f"`{t}`" for t in m["special_tokens"]) or "none"),
        f"- normalisation: {m['normalization']}",
        f"- sample: {s['documents_used']:,} of {s['documents_seen']:,} documents, {s['characters']:,} characters, "
        f"from {s.get('kind')} `{s.get('path')}`: {s['rule']}",
    ]
    if v["why_smaller"]:
        lines += ["", "## Smaller than asked", "", v["why_smaller"]]
    return "\n".join(lines) + "\n"
