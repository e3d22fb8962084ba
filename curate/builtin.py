"""Imports every module that registers a built-in stage or reader.

Add a new stage or reader module here so configs can name it.
"""

from curate.filters import c4, code_quality, fineweb, gopher, gopher_repetition, url_filter  # noqa: F401
from curate.readers import warc  # noqa: F401
from curate.readers import arc, conversations, records, wet  # noqa: F401
from curate import extract, langid  # noqa: F401
from curate.dedup import exact, minhash  # noqa: F401
from curate.readers import books, code  # noqa: F401
from curate import redact  # noqa: F401
from curate.filters import quality_classifier  # noqa: F401
from curate.dedup import sentences, token_spans  # noqa: F401
from curate.readers import latex  # noqa: F401
from curate import decontam  # noqa: F401
