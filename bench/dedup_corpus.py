"""Real documents with planted near-duplicates, for the MinHash benchmarks.

Base documents: the two Gutenberg books cut into ~250-word chunks at paragraph
boundaries, the 181 extracted articles (``articleBody``) of the HTML benchmark, and
the OpenAssistant messages of at least 30 words. About 60% of them get one variant
(10% a second) made by word edits, an inserted passage from another document, added
boilerplate, truncation, or two of these, with strengths drawn so that the variants'
Jaccard to their original spreads from ~0.4 to 1: true duplicates and near misses.

Ground truth is computed, not assumed: the exact Jaccard of every pair of documents
that share a shingle (5-word shingles over ``curate.text.normalize``, the same
shingles the detectors use), via an inverted index. A pair is a duplicate iff J >= 0.8.
"""

from __future__ import annotations

import json
import pathlib
import random
import re

import numpy as np

BOILERPLATE = [
    "Subscribe to our newsletter to get the latest stories delivered straight to your inbox every week. "
    "We respect your privacy and you can unsubscribe at any time.",
    "This website uses cookies to improve your experience. By continuing to browse the site you agree to our "
    "use of cookies. Read our privacy policy and terms of service for more information. Accept all cookies.",
    "Home | About us | Contact | Careers | Advertise with us | Privacy | Terms | Sitemap | Follow us on "
    "Facebook, Twitter and Instagram | Share this article | Print | Email",
    "Related articles: You may also like these stories from our editors. Sponsored content. Most popular this "
    "week. Sign in to comment. Comments are moderated and may take some time to appear.",
]


def _chunks(text: str, min_words: int = 250) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    out, cur, n = [], [], 0
    for p in paras:
        cur.append(p)
        n += len(p.split())
        if n >= min_words:
            out.append("\n\n".join(cur))
            cur, n = [], 0
    return out


def base_documents(data: pathlib.Path) -> list[tuple[str, str]]:
    """(source, text) of the real base documents, in a fixed order."""
    docs = []
    for book in sorted((data / "books").glob("*.txt")):
        docs += [("book", c) for c in _chunks(book.read_text(encoding="utf-8-sig"))]
    truth = json.loads((data / "html" / "ground-truth.json").read_text(encoding="utf-8"))
    docs += [("web", truth[k]["articleBody"]) for k in sorted(truth) if len(truth[k]["articleBody"].split()) >= 50]
    with open(data / "conversations" / "oasst-en-100-flat.jsonl", encoding="utf-8") as f:
        msgs = sorted((json.loads(line) for line in f), key=lambda m: m["message_id"])
    docs += [("oasst", m["text"]) for m in msgs if len(m["text"].split()) >= 30]
    return docs


def _edit(rng, words, vocab, rate):
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue  # delete
        if r < 2 * rate / 3:
            out.append(rng.choice(vocab))  # replace
            continue
        out.append(w)
        if r < rate:
            out.append(rng.choice(vocab))  # insert
    return out


def make_variant(rng: random.Random, words: list[str], other: list[str], vocab: list[str]) -> tuple[str, list[str]]:
    kinds = ["edit", "insert", "boilerplate", "truncate"]
    chosen = rng.sample(kinds, 2) if rng.random() < 0.3 else [rng.choice(kinds)]
    out = list(words)
    for kind in chosen:
        if kind == "edit":
            out = _edit(rng, out, vocab, rng.uniform(0.002, 0.06))
        elif kind == "insert":
            n = max(1, int(len(out) * rng.uniform(0.02, 0.35)))
            start = rng.randint(0, max(0, len(other) - n))
            at = rng.randint(0, len(out))
            out = out[:at] + other[start : start + n] + out[at:]
        elif kind == "boilerplate":
            block = rng.choice(BOILERPLATE).split()
            out = block + out if rng.random() < 0.5 else out + block
        else:
            keep = 1 - rng.uniform(0.02, 0.35)
            n = max(1, int(len(out) * keep))
            out = out[:n] if rng.random() < 0.7 else out[-n:]
    return "+".join(chosen), out


def planted_corpus(data: pathlib.Path, seed: int = 0) -> list[dict]:
    """Documents as dicts {id, source, text, planted_from, kind}, originals first."""
    rng = random.Random(seed)
    base = base_documents(data)
    words = [t.split() for _, t in base]
    vocab = sorted({w for ws in words for w in ws})
    docs = [
        {"id": f"b{i:05d}", "source": s, "text": t, "planted_from": None, "kind": "original"}
        for i, (s, t) in enumerate(base)
    ]
    for i, (s, _) in enumerate(base):
        n_variants = 0 if rng.random() < 0.4 else (2 if rng.random() < 0.17 else 1)
        for k in range(n_variants):
            other = words[rng.randrange(len(words))]
            kind, vw = make_variant(rng, words[i], other, vocab)
            docs.append(
                {"id": f"v{i:05d}_{k}", "source": s, "text": " ".join(vw), "planted_from": f"b{i:05d}", "kind": kind}
            )
    return docs


def scaled_corpus(docs: list[dict], factor: int, seed: int = 0) -> list[dict]:
    """``factor`` copies of the corpus for the scaling runs: in copy k > 0, 40% of each
    document's words are replaced by random corpus words, so the copies are new
    documents (not duplicates of the first copy) with the same length distribution."""
    vocab = sorted({w for d in docs for w in d["text"].split()})
    out = list(docs)
    for k in range(1, factor):
        rng = random.Random(seed * 1000 + k)
        for d in docs:
            ws = [rng.choice(vocab) if rng.random() < 0.4 else w for w in d["text"].split()]
            out.append({**d, "id": f"{d['id']}_x{k}", "text": " ".join(ws)})
    return out


def true_pairs(docs: list[dict], ngram: int = 5, threshold: float = 0.8) -> dict[tuple[str, str], float]:
    """Every pair (id_a < id_b) that shares a shingle -> exact Jaccard; callers keep J >= threshold."""
    from curate.dedup.minhash import MinHasher

    hasher = MinHasher(ngram=ngram, num_perm=1)
    sets = [np.unique(hasher.shingle_hashes(d["text"])) for d in docs]
    sizes = np.array([len(s) for s in sets])
    sh = np.concatenate(sets)
    owner = np.repeat(np.arange(len(docs)), sizes)
    order = np.argsort(sh, kind="stable")
    sh, owner = sh[order], owner[order]
    bounds = np.flatnonzero(np.diff(sh)) + 1
    pair_keys = []
    for group in np.split(owner, bounds):
        if len(group) > 1:
            i, j = np.triu_indices(len(group), 1)
            a, b = np.minimum(group[i], group[j]), np.maximum(group[i], group[j])
            pair_keys.append(a.astype(np.int64) * len(docs) + b)
    if not pair_keys:
        return {}
    keys, inter = np.unique(np.concatenate(pair_keys), return_counts=True)
    a, b = keys // len(docs), keys % len(docs)
    jac = inter / (sizes[a] + sizes[b] - inter)
    ids = [d["id"] for d in docs]
    return {tuple(sorted((ids[x], ids[y]))): float(j) for x, y, j in zip(a, b, jac)}
