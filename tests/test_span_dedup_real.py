"""Span dedup on the two real Gutenberg books: their Project Gutenberg header and
licence are the same text in both, cut into chunks at different places, which exact
document dedup cannot see and span dedup must."""

from __future__ import annotations

import io

import pytest

from curate import text as T
from curate.dedup.damage import audit_edit
from curate.dedup.spans import MIN_SPAN_CHARS, MIN_SPAN_WORDS
from curate.document import Document
from tests.conftest import shared_path
from tests.test_span_dedup import run_sentences, run_tokens

LICENCE_SENTENCE = "You may copy it, give it away or re-use it under the terms of the Project Gutenberg License"
# in the licence body that closes both books
LICENCE_BODY = (
    "Project Gutenberg-tm is synonymous with the free distribution of electronic works in "
    "formats readable by the widest variety of computers"
)


def book_chunks(name: str, words_per_doc: int) -> dict[str, str]:
    text = shared_path("books", name).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    docs, buf, count = {}, [], 0
    for para in T.paragraphs(text):
        buf.append(para)
        count += len(para.split())
        if count >= words_per_doc:
            docs[f"{name[:5]}-{len(docs):04d}"] = "\n\n".join(buf)
            buf, count = [], 0
    docs[f"{name[:5]}-{len(docs):04d}"] = "\n\n".join(buf)
    return docs


@pytest.fixture(scope="module")
def books():
    # different chunk sizes: the shared licence falls at different offsets in each book
    return {**book_chunks("pg11-alice-in-wonderland.txt", 300), **book_chunks("pg972-devils-dictionary.txt", 450)}


def copies(texts, needle: str) -> int:
    n = T.normalize(needle)
    return sum(T.normalize(t).count(n) for t in texts if not t.startswith("drop:"))


def keeper(books, needle: str = LICENCE_SENTENCE) -> str:
    """The document that must keep the licence: the smallest id that holds it."""
    return min(i for i, t in books.items() if copies([t], needle))


def test_sentence_dedup_leaves_one_copy_of_the_shared_licence_undamaged(books):
    assert copies(books.values(), LICENCE_BODY) == 2
    first = keeper(books, LICENCE_BODY)
    out, docs = run_sentences(books, min_words=50)
    assert copies(out.values(), LICENCE_BODY) == 1
    assert copies([out[first]], LICENCE_BODY) == 1
    assert docs[first].signals("sentence_dedup")["units_removed"] == 0
    # most of the books stays: the header and licence are a few thousand of ~120,000 words
    removed = sum(d.signals("sentence_dedup")["chars_removed"] for d in docs.values())
    assert 5_000 < removed < 0.05 * sum(len(t) for t in books.values())
    # every edit removed whole passages, cut at sentence boundaries and rejoined cleanly
    edited = [i for i, t in out.items() if t != books[i] and not t.startswith("drop:")]
    assert edited
    for i in edited:
        audit = audit_edit(books[i], out[i])
        assert audit.removals and not audit.altered and not audit.seam_faults, i
        assert audit.inside_word() == 0 and audit.below(MIN_SPAN_WORDS, MIN_SPAN_CHARS) == 0, i


def test_token_dedup_leaves_one_copy_of_the_shared_licence(books):
    import sentencepiece as spm

    model = io.BytesIO()
    lines = [ln for t in books.values() for ln in t.split("\n") if ln.strip()]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=2000, minloglevel=2, hard_vocab_limit=False
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    first = keeper(books)
    out, docs = run_tokens(processor, books, min_tokens=50, min_words=50)
    # the header copy in the first Alice chunk stays; the same book's licence at its
    # end is another document, so it goes like the Devil's Dictionary's two copies
    assert copies(out.values(), LICENCE_SENTENCE) == 1
    assert copies([out[first]], LICENCE_SENTENCE) == 1
    assert docs[first].signals("token_dedup")["tokens_removed"] == 0


def test_pipeline_over_real_threads_keeps_each_shared_prompt_once(tmp_path):
    """configs/dedup-spans.yaml end to end: exact, sentence and token dedup over the
    OpenAssistant threads (which share their opening turns), the books and this code."""
    import json

    from curate import config
    from curate.config import build
    from curate.dedup.sentences import SentenceDedup, SentenceDedupConfig
    from pipelines import cli
    from tests.conftest import REPO
    from tests.pipeline_helpers import check_output

    trees_path = shared_path("conversations", "oasst-en-100-trees.jsonl")
    if not (REPO / "curate" / "models" / "mistral-tokenizer.model.v1").exists():
        pytest.skip("tokenizer model not installed (python -m curate.model_files)")
    import os

    cwd = os.getcwd()
    os.chdir(REPO)  # the config's paths are relative to the repository root
    try:
        manifest = cli.run_pipeline(config.load("configs/dedup-spans.yaml"), str(tmp_path), [])
    finally:
        os.chdir(cwd)
    rows = check_output(str(tmp_path), manifest)
    stats = json.load(open(tmp_path / "manifest.json"))["counts"]["stats"]
    assert stats["sentence_dedup:units_removed"] > 1000 and stats["token_dedup:tokens_removed"] > 0
    assert stats["token_dedup:bytes_removed"] > 0

    kept_by_tree: dict = {}
    for r in rows:
        if r["source"] == "conversations":
            tree = json.loads(r["metadata"])["conversation"]["tree_id"]
            kept_by_tree.setdefault(tree, []).append(T.normalize(r["text"]))
    core = SentenceDedup(build(SentenceDedupConfig, {}))
    checked = 0
    for line in open(trees_path, encoding="utf-8"):
        tree = json.loads(line)
        prompt = tree["prompt"]
        _, hi, lo = core.span_keys(Document("p", prompt["text"], "conversations"))
        # a prompt of >= 3 sentences with no repeat inside itself, opening >= 2 threads:
        # kept whole in exactly one thread (the smallest id), cut from the others
        if len(hi) < 1 or len(set(zip(hi.tolist(), lo.tolist()))) < len(hi) or len(prompt.get("replies", [])) < 2:
            continue
        holders = sum(T.normalize(prompt["text"]) in t for t in kept_by_tree.get(tree["message_tree_id"], []))
        assert holders == 1, tree["message_tree_id"]
        checked += 1
    assert checked >= 10
