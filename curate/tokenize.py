"""SentencePiece tokenization: load a given model, or train one on a sample of the
kept text; encode documents to ``uint32`` token ids.

Trained models use identity normalisation, no extra-whitespace removal, no dummy
prefix and byte fallback, so ``decode(encode(text)) == text`` exactly: the shards'
``tokens`` give back the shards' ``text``.
"""

from __future__ import annotations

import hashlib
import io
from typing import Iterable, Optional

import sentencepiece as spm


class TokenizerError(RuntimeError):
    pass


def load_processor(model_proto: bytes) -> spm.SentencePieceProcessor:
    """A processor for serialized model bytes, loaded once per process (:func:`curate.model_files.shared`)."""
    from curate.model_files import shared

    return shared(("sentencepiece", model_proto), lambda: spm.SentencePieceProcessor(model_proto=model_proto))


def read_model(path: str) -> bytes:
    from curate.io import read_bytes

    try:
        data = read_bytes(path)
    except Exception as e:
        raise TokenizerError(f"cannot read tokenizer model {path}: {e}") from None
    try:
        spm.SentencePieceProcessor(model_proto=data)
    except Exception as e:
        raise TokenizerError(f"{path} is not a SentencePiece model: {e}") from None
    return data


def model_sha256(model_proto: bytes) -> str:
    return hashlib.sha256(model_proto).hexdigest()


def training_lines(texts: Iterable[str], max_len: int) -> Iterable[str]:
    """Lines for the trainer; long lines cut (SentencePiece skips lines over its limit)."""
    for text in texts:
        for line in text.split("\n"):
            line = line.strip()
            while line:
                yield line[:max_len]
                line = line[max_len:]


def train_model(
    texts: Iterable[str],
    vocab_size: int = 8000,
    model_type: str = "unigram",
    max_sentence_length: int = 16384,
    character_coverage: float = 0.9995,
    byte_fallback: bool = True,
    special_tokens: Optional[list[str]] = None,
    verbose: bool = False,
) -> bytes:
    """Train a SentencePiece model and return its serialized bytes.

    One thread and a fixed input order make it deterministic. ``hard_vocab_limit``
    is off, so a small sample yields a smaller vocabulary instead of an error.
    """
    texts = list(texts)
    if not any(t.strip() for t in texts):
        raise TokenizerError("cannot train a tokenizer: no kept text to train on")
    out = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(training_lines(texts, max_sentence_length)),
            model_writer=out,
            vocab_size=vocab_size,
            model_type=model_type,
            max_sentence_length=max_sentence_length,
            character_coverage=character_coverage,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=False,
            allow_whitespace_only_pieces=True,
            split_digits=True,
            byte_fallback=byte_fallback,
            user_defined_symbols=list(special_tokens or []),
            hard_vocab_limit=False,
            num_threads=1,
            shuffle_input_sentence=False,
            minloglevel=0 if verbose else 2,
        )
    except RuntimeError as e:
        raise TokenizerError(f"SentencePiece training failed: {e}") from None
    return out.getvalue()


def encode(processor: spm.SentencePieceProcessor, texts: list[str], add_bos: bool, add_eos: bool) -> list[list[int]]:
    ids = processor.encode(texts)
    bos, eos = processor.bos_id(), processor.eos_id()
    out = []
    for seq in ids:
        if add_bos and bos >= 0:
            seq = [bos] + seq
        if add_eos and eos >= 0:
            seq = seq + [eos]
        out.append(seq)
    return out


# Documents encoded together (one SentencePiece call, on all cores: ``num_threads=-1``):
# per document, each call made a thread and paid the Python wrapper. The limits keep a
# batch to ~256k characters, what a few hundred web pages hold.
ENCODE_BATCH_DOCS = 256
ENCODE_BATCH_CHARS = 1 << 18


def encode_or_errors(processor: spm.SentencePieceProcessor, texts: list[str], add_bos: bool, add_eos: bool) -> list:
    """:func:`encode` of a batch: each text's token ids, or the exception it raised. A
    failing batch is encoded again one text at a time, so one bad text costs only itself."""
    try:
        return list(encode(processor, texts, add_bos, add_eos))
    except Exception as e:
        if len(texts) == 1:
            return [e]
        return [out for text in texts for out in encode_or_errors(processor, [text], add_bos, add_eos)]


def decode(processor: spm.SentencePieceProcessor, ids: list[int]) -> str:
    """Text of token ids, with BOS/EOS (control pieces) left out."""
    return processor.decode([i for i in ids if not processor.is_control(i)])


def vocab_size(model_proto: bytes) -> int:
    return load_processor(model_proto).get_piece_size()


def id_dtype(cfg, model_proto: Optional[bytes]) -> str:
    """The shards' token-id type: from the given model's size, or for a model trained in
    the run from the vocabulary size asked for (the trained one is never larger)."""
    from curate.shards import token_dtype

    return token_dtype(vocab_size(model_proto) if model_proto is not None else cfg.train.vocab_size)


def describe(model_proto: bytes, path: Optional[str]) -> dict:
    return {
        "path": path,
        "sha256": model_sha256(model_proto),
        "vocab_size": vocab_size(model_proto),
    }
