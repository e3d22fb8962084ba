"""Large read-only objects (models, tokenizers, block and bad-word lists) are loaded once
per process and shared by every stage instance and thread (curate.model_files.shared)."""

from __future__ import annotations

import os
import threading
import time

from curate.filters.c4 import load_bad_words
from curate.filters.url_filter import UrlFilter, UrlFilterConfig
from curate.model_files import shared


def test_shared_loads_once_across_threads():
    calls = []

    def load():
        calls.append(1)
        time.sleep(0.05)  # every thread arrives while the first is still loading
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(shared(("test-once", id(calls)), load))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(got) == 8 and all(g is got[0] for g in got)


def _url_filter(**kw):
    f = UrlFilter(UrlFilterConfig(**kw))
    f.setup()
    return f


def test_url_filter_instances_share_their_lists(tmp_path):
    path = tmp_path / "domains.txt"
    path.write_text("# block list\nexample.com\nbad.org\n")
    a, b = _url_filter(domains_path=str(path)), _url_filter(domains_path=str(path))
    assert a._lists is b._lists
    assert a.blocked_domain("www.bad.org") and not a.blocked_domain("good.org")
    other = _url_filter(domains_path=str(path), words=["casino"])
    assert other._lists is not a._lists and "casino" in other._lists.words
    # a list rewritten in place is read again (the key holds its size and mtime)
    path.write_text("good.org\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    c = _url_filter(domains_path=str(path))
    assert c._lists is not a._lists and c.blocked_domain("good.org") and not c.blocked_domain("bad.org")


def test_bad_words_are_shared(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("darn\n")
    assert load_bad_words(str(path)) is load_bad_words(str(path))


def test_models_are_shared_by_stage_instances():
    import pytest

    from curate.langid import LanguageId, LanguageIdConfig
    from curate.model_files import ModelNotFound, lid_model_path, model_path
    from curate.tokenize import load_processor, read_model

    try:
        lid_model_path()
        spm_path = model_path("mistral-tokenizer.model.v1")
    except ModelNotFound as e:
        pytest.skip(str(e))
    a, b = LanguageId(LanguageIdConfig()), LanguageId(LanguageIdConfig())
    a.setup(), b.setup()
    assert a._model is b._model
    assert load_processor(read_model(spm_path)) is load_processor(read_model(spm_path))
