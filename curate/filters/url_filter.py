"""URL block list (RefinedWeb / FineWeb's first step, simplified).

A document is dropped if the host of ``provenance["url"]`` is a blocked domain or a
subdomain of one, if a blocked word is one of the URL's alphanumeric tokens (so "porn"
blocks ``/porn-videos`` but not ``/pornography-law``), or if a blocked
substring occurs in the URL with everything but letters and digits removed. Lists come
from the config and, optionally, from files (one entry per line, '#' comments).
Documents without a URL pass.

The defaults are a deliberately small adult-content list; production runs should point
``domains_path`` at a maintained block list (for example UT1's "adult" category, which
FineWeb and RefinedWeb used).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional
from urllib.parse import urlsplit

from curate.base import Filter
from curate.config import ConfigError
from curate.document import Document
from curate.filters.common import read_list
from curate.model_files import file_key, shared
from curate.registry import register_stage

DEFAULT_DOMAINS = (
    "pornhub.com",
    "xvideos.com",
    "xnxx.com",
    "xhamster.com",
    "redtube.com",
    "youporn.com",
    "spankbang.com",
    "chaturbate.com",
    "onlyfans.com",
)
DEFAULT_WORDS = ("porn", "porno", "xxx", "hentai", "nsfw", "camgirl", "milf", "bukkake", "blowjob", "gangbang")
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclasses.dataclass
class UrlFilterConfig:
    domains: list[str] = dataclasses.field(default_factory=lambda: list(DEFAULT_DOMAINS))
    domains_path: Optional[str] = None
    words: list[str] = dataclasses.field(default_factory=lambda: list(DEFAULT_WORDS))
    words_path: Optional[str] = None
    substrings: list[str] = dataclasses.field(default_factory=list)
    substrings_path: Optional[str] = None

    def validate(self, key: str) -> None:
        for name in ("domains_path", "words_path", "substrings_path"):
            path = getattr(self, name)
            if path is not None and "://" not in path and not os.path.isfile(path):
                raise ConfigError(f"{key}.{name}: no such file: {path}")


def host_of(url: str) -> str:
    """The URL's host name, lower-case, without port, credentials or trailing dot."""
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:  # e.g. a malformed IPv6 literal: no host to match
        return ""
    return host.rstrip(".")


@dataclasses.dataclass(frozen=True)
class BlockLists:
    """The URL filter's lists, normalised (read-only, shared by a process's instances)."""

    domains: frozenset
    words: frozenset
    substrings: tuple

    @classmethod
    def from_config(cls, c: UrlFilterConfig) -> "BlockLists":
        return cls(
            frozenset(d.lower().strip(".") for d in [*c.domains, *read_list(c.domains_path)]),
            frozenset(w.lower() for w in [*c.words, *read_list(c.words_path)]),
            tuple(_TOKEN_SPLIT.sub("", s.lower()) for s in [*c.substrings, *read_list(c.substrings_path)]),
        )


@register_stage("url_filter", UrlFilterConfig)
class UrlFilter(Filter):
    def setup(self) -> None:
        # The lists load here, not in the constructor: `curate refilter` builds filters
        # only to call decide(), which never needs them (block lists can be millions long).
        # One copy per process (curate.model_files.shared): every instance with the same lists uses it.
        c = self.config
        key = ("url_filter",) + tuple(
            (tuple(entries), file_key(path) if path else None)
            for entries, path in (
                (c.domains, c.domains_path),
                (c.words, c.words_path),
                (c.substrings, c.substrings_path),
            )
        )
        self._lists = shared(key, lambda: BlockLists.from_config(c))

    def blocked_domain(self, host: str) -> bool:
        """The host or any parent domain of it is listed (``a.b.example.com`` -> ``example.com``)."""
        labels = host.split(".")
        domains = self._lists.domains
        return any(".".join(labels[i:]) in domains for i in range(len(labels)))

    def score(self, doc: Document) -> dict:
        url = (doc.provenance.get("url") or "").strip()
        if not url:
            return {"has_url": 0, "blocked_domain": 0, "blocked_words": 0, "blocked_substrings": 0}
        lower = url.lower()
        host = host_of(lower)
        tokens = set(_TOKEN_SPLIT.split(lower))
        squashed = _TOKEN_SPLIT.sub("", lower)
        return {
            "has_url": 1,
            "blocked_domain": int(bool(host) and self.blocked_domain(host)),
            "blocked_words": len(self._lists.words.intersection(tokens)),
            "blocked_substrings": sum(1 for s in self._lists.substrings if s and s in squashed),
        }

    def decide(self, s: dict) -> Optional[str]:
        if not s["has_url"]:
            return None
        if s["blocked_domain"]:
            return "blocked_domain"
        if s["blocked_words"]:
            return "blocked_word"
        if s["blocked_substrings"]:
            return "blocked_substring"
        return None
