"""Personal data and secrets, replaced by placeholders and counted: one implementation
for two per-document stages.

``pii_redact`` (web text, conversations, books): e-mail addresses, public IPv4 and
IPv6 addresses and phone numbers, as FineWeb (datatrove's ``PIIFormatter``: e-mail and
public IPv4) and dolma (e-mail, IP, phone) do. ``code_redact`` (source code): secrets
and e-mail addresses. Both find e-mail addresses with :func:`find_emails` and replace
what they found with :func:`replace_spans`; the counts per kind go to
``metadata["redactions"]`` (summed over the stages a document went through) and to run
statistics ``stat|<source>|<stage>|<kind>``. docs/pii.md has the rules and the
benchmark against datatrove.

PII kinds (:func:`find_pii`; found on the original text, overlaps resolved in this
order, then replaced in one pass):

- ``email``: ``local@domain.tld`` (:data:`EMAIL_RE`); not retina image names
  (``icon@2x.png``: a file extension is no top-level domain);
- ``ipv6``: a full or ``::``-compressed address that :mod:`ipaddress` accepts, with
  ``public_only`` (the default) only global unicast ones (``2000::/3``, not the
  documentation prefix ``2001:db8::/32`` and other special ranges);
- ``ipv4``: a dotted quad standing alone (not inside a longer run of dotted numbers),
  with ``public_only`` only :attr:`ipaddress.IPv4Address.is_global` ones, as datatrove.
  Not a version or section number: a quad right after a word such as ``version``,
  ``build``, ``release``, ``section``, or one whose first three numbers are all <= 20
  (``1.2.3.4``, ``4.0.12.255``: :func:`version_shaped`);
- ``phone``: what the ``phonenumbers`` library (Google's libphonenumber) finds at
  leniency ``STRICT_GROUPING`` (valid, and grouped as the number's format groups it)
  for each of ``phone_regions``: numbers in international format (``+44 20 7946
  0958``) of any country, national formats of the regions listed (default ``US``:
  ``(415) 555-2671``, ``415.555.2671``); dates, times, ISBNs, prices, table rows and
  numbers that are no valid phone number stay.

Secret kinds (``code_redact``), in the order they are applied (a later rule never sees
an earlier placeholder):

- ``private_key``: a ``-----BEGIN ... PRIVATE KEY-----`` block through its END line;
- ``aws_access_key`` (``AKIA``/``ASIA``... + 16), ``github_token`` (``ghp_`` and the
  other ``gh?_`` prefixes, ``github_pat_``), ``slack_token`` (``xox?-``, Slack webhooks),
  ``google_api_key`` (``AIza`` + 35);
- ``secret_assignment``: a quoted value assigned to a name that ends in a secret word
  (``password``, ``passwd``, ``pwd``, ``secret``, ``token``, ``api_key``, ``apikey``,
  ``access_key``, ``private_key``, ``client_secret``, ``credentials``), with ``=``,
  ``:``, ``:=`` or ``=>`` (``==`` comparisons are not assignments). Only the value is
  replaced. The value must be at least 6 characters without spaces, not a placeholder
  (``$``, ``{``, ``<``, ``%`` first) and not a constant-like name (``NUMBER``). In
  config-like languages (YAML, INI, shell, dockerfile, makefile, env) unquoted values
  count too;
- ``high_entropy``: a quoted value of >= 20 characters from the base64 / URL-safe
  alphabet, assigned to any name, with a digit, a lower- and an upper-case letter,
  >= 3.5 bits of entropy per character, and made of short pieces (mean piece length
  <= 2.5, :func:`mean_segment_length`): random tokens are, identifiers
  (``CamelCaseName1``) are not; hex digests have no upper case and are left alone;
- then ``email`` as above.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import math
import re
import sys
from typing import Iterable, Iterator, Union

import phonenumbers

from curate.base import DocStage
from curate.document import Document, Drop
from curate.params import ConfigError
from curate.registry import register_stage

SECRET = "<SECRET>"
EMAIL_PLACEHOLDER = "<EMAIL>"  # code_redact's; pii_redact's are configurable

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
)
# (kind, regex, substrings one of which must occur): the substring test is ~100x
# cheaper than a regex scan, and most files hold none of these prefixes.
_TOKEN_RES = [
    (
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T"),
    ),
    (
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    (
        "slack_token",
        re.compile(
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}|https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"
        ),
        ("xox", "hooks.slack.com"),
    ),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), ("AIza",)),
]
_SECRET_WORDS = (
    r"password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|"
    r"client[_\-]?secret|credentials?"
)
# key (optionally quoted, as in JSON/YAML), an assignment operator, a quoted value.
# The look-behind starts keys at identifier starts only: 3x faster, same matches.
_QUOTED_ASSIGN_RE = re.compile(
    r"""(?<![\w.\-$])(?P<key>[A-Za-z_$][\w.\-]*)["'\]]*\s*(?::=|=>|(?<![=!<>])=(?![=>])|:)\s*[rbuf]?(?P<q>["'`])(?P<val>[^"'`\n]*)(?P=q)"""
)
_UNQUOTED_ASSIGN_RE = re.compile(
    r"""(?<![\w.\-$])(?P<key>[A-Za-z_$][\w.\-]*)\s*(?:=|:)[ \t]*(?P<val>[^\s"'`#;]+)[ \t]*$""", re.M
)
_SECRET_KEY_RE = re.compile(rf"(?:{_SECRET_WORDS})$", re.I)
_CONSTANT_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_B64_RE = re.compile(r"^[A-Za-z0-9+/=_\-]{20,}$")
CONFIG_LANGUAGES = frozenset({"yaml", "ini", "shell", "dockerfile", "makefile", "unknown"})


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(s).values()) if n else 0.0


_SEGMENT_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^A-Za-z\d]+")


def mean_segment_length(s: str) -> float:
    """Mean length of the token's pieces: (Capitalised) lower-case words, upper-case
    runs, digit runs, other runs. Identifiers are made of words (``CamelCaseName1``:
    3.2); random base62 tokens of 20-40 characters average 1.8-1.9 (95% <= 2.5)."""
    segs = _SEGMENT_RE.findall(s)
    return len(s) / len(segs) if segs else 0.0


def looks_random(val: str) -> bool:
    return (
        bool(_B64_RE.match(val))
        and any(c.isdigit() for c in val)
        and any(c.islower() for c in val)
        and any(c.isupper() for c in val)
        and entropy(val) >= 3.5
        and mean_segment_length(val) <= 2.5
    )


def _secret_value(val: str) -> bool:
    return (
        len(val) >= 6
        and not any(c.isspace() for c in val)
        and val[0] not in "${<%"
        and not _CONSTANT_RE.match(val)
        and len(set(val)) > 1
        and SECRET not in val
        and EMAIL_PLACEHOLDER not in val
    )


def redact(
    text: str, language: str = "unknown", secrets: bool = True, emails: bool = True
) -> tuple[str, dict[str, int]]:
    """The text with secrets and e-mails replaced, and the number of each kind replaced."""
    counts: dict[str, int] = {}

    def sub(kind: str, regex, repl, s: str) -> str:
        out, n = regex.subn(repl, s)
        if n:
            counts[kind] = counts.get(kind, 0) + n
        return out

    if secrets:
        text = _redact_secrets(text, language, counts, sub)
    if emails:
        text = replace_spans(text, [(a, b, EMAIL) for a, b in find_emails(text)], {EMAIL: EMAIL_PLACEHOLDER}, counts)
    return text, counts


def _redact_secrets(text: str, language: str, counts: dict, sub) -> str:
    if "PRIVATE KEY" in text:
        text = sub("private_key", _PRIVATE_KEY_RE, SECRET, text)
    for kind, regex, needles in _TOKEN_RES:
        if any(n in text for n in needles):
            text = sub(kind, regex, SECRET, text)

    def assign(m: re.Match) -> str:
        key, val = m.group("key"), m.group("val")
        if _SECRET_KEY_RE.search(key) and _secret_value(val):
            kind = "secret_assignment"
        elif looks_random(val):
            kind = "high_entropy"
        else:
            return m.group(0)
        counts[kind] = counts.get(kind, 0) + 1
        a, b = m.span("val")
        start = m.start()
        return m.group(0)[: a - start] + SECRET + m.group(0)[b - start :]

    text = _QUOTED_ASSIGN_RE.sub(assign, text)
    if language in CONFIG_LANGUAGES:
        text = _UNQUOTED_ASSIGN_RE.sub(
            lambda m: assign(m) if _SECRET_KEY_RE.search(m.group("key")) else m.group(0), text
        )
    return text


@dataclasses.dataclass
class CodeRedactConfig:
    secrets: bool = True
    emails: bool = True


@register_stage("code_redact", CodeRedactConfig)
class CodeRedact(DocStage):
    def process(self, doc: Document) -> Union[Document, Drop]:
        language = doc.metadata.get("code", {}).get("language", "unknown")
        doc.text, counts = redact(doc.text, language, self.config.secrets, self.config.emails)
        record_redactions(self, doc, counts)
        return doc


# ----------------------------------------------------------------------------- PII

EMAIL, IPV4, IPV6, PHONE = "email", "ipv4", "ipv6", "phone"
PII_KINDS = (EMAIL, IPV6, IPV4, PHONE)  # the order in which overlapping finds are resolved

EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24})\b"
)
# Endings of file names that look like a top-level domain after an "@": icon@2x.png.
_FILE_EXTENSIONS = frozenset(
    "png jpg jpeg gif svg webp ico bmp tif tiff avif css js mjs ts json html htm xml txt pdf".split()
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not inside a longer run of dotted numbers (1.2.3.4.5) or a word; a sentence's full stop may follow.
IPV4_RE = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.\d)")
# A dotted quad right after one of these words is a version, section or outline number.
_NOT_AN_IP_BEFORE = re.compile(
    r"(?:\b(?:versions?|v|release[sd]?|build|revision|firmware|patch|update|upgrade|"
    r"sections?|chapters?|clauses?|paragraphs?|appendix)|\b(?:ver|rel|rev|sec|para|fig|no|nos|ch|pp?)\.|§)\s*$",
    re.I,
)
_H16 = r"[0-9A-Fa-f]{1,4}"
# The RFC 4291 text forms: eight groups, or fewer with one "::" (an IPv4 tail is left out:
# such addresses are mapped IPv4, found by IPV4_RE). ipaddress validates each match.
IPV6_RE = re.compile(
    rf"(?<![\w:.])(?:(?:{_H16}:){{7}}{_H16}|(?:{_H16}:){{1,7}}:|(?:{_H16}:){{1,6}}:{_H16}"
    rf"|(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}|(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}"
    rf"|(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}|(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}"
    rf"|{_H16}:(?::{_H16}){{1,6}}|:(?::{_H16}){{1,7}})(?![\w:]|\.\d)"
)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_MAX_TRIES = sys.maxsize  # phonenumbers gives up after 65,535 candidates by default: not in a long book


def find_emails(text: str) -> Iterator[tuple[int, int]]:
    """Spans of e-mail addresses."""
    if "@" not in text:
        return
    for m in EMAIL_RE.finditer(text):
        if m.group("tld").lower() not in _FILE_EXTENSIONS:
            yield m.span()


def version_shaped(quad: str) -> bool:
    """Versions count up from small numbers (``1.2.3.4``, ``4.0.12.255``): a quad whose
    first three numbers are all <= 20 is taken for one. A random public IPv4 address
    has that shape with a probability of ~0.06% (20/224 x 21/256 x 21/256)."""
    return all(int(part) <= 20 for part in quad.split(".")[:3])


def find_ipv4(text: str, public_only: bool = True) -> Iterator[tuple[int, int, bool]]:
    """Every standing-alone dotted quad: (start, end, whether to redact it): a version
    or section number is not, nor (``public_only``) a private or reserved address."""
    for m in IPV4_RE.finditer(text):
        s = m.group()
        redact = not (
            version_shaped(s)
            or _NOT_AN_IP_BEFORE.search(text, max(0, m.start() - 24), m.start())
            or (public_only and not ipaddress.IPv4Address(s).is_global)
        )
        yield m.start(), m.end(), redact


def find_ipv6(text: str, public_only: bool = True) -> Iterator[tuple[int, int]]:
    """Spans of IPv6 addresses (``public_only``: global unicast ones)."""
    if "::" not in text and text.count(":") < 7:
        return
    for m in IPV6_RE.finditer(text):
        try:
            ip = ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        if not public_only or (ip in _GLOBAL_UNICAST and ip.is_global):
            yield m.span()


# A run of digits and the separators phone numbers are written with; where
# libphonenumber's own finds do not cover one, its stretches are tried (see find_phones).
_PHONE_RUN_RE = re.compile(r"[+(]?\d(?:[ \t]?[-./()]?[ \t]?\d)+")
_DIGITS_RE = re.compile(r"\d+")
_PHONE_DIGITS = (7, 15)  # E.164 numbers have at most 15 digits; fewer than 7 are no number
_PHONE_GROUPS = 7  # "+33 1 42 68 53 00": the most digit groups a written number has
# A longer run is a list or table of numbers, not a number with neighbours: its
# stretches are not tried (libphonenumber's own pass still looks at it).
_MAX_RUN_GROUPS = 12


def _matches(text: str, region: str, offset: int = 0) -> list[tuple[int, int]]:
    return [
        (offset + m.start, offset + m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.STRICT_GROUPING, _MAX_TRIES)
    ]


def _valid(candidate: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
    except phonenumbers.NumberParseException:
        return False


def _run_phones(run: str, offset: int, region: str) -> Iterator[tuple[int, int]]:
    """Numbers inside a run of digit groups: from each group on, the longest stretch
    of at most _PHONE_GROUPS groups that libphonenumber finds to be a number."""
    groups = [m.span() for m in _DIGITS_RE.finditer(run)]
    if len(groups) > _MAX_RUN_GROUPS:
        return
    i = 0
    while i < len(groups):
        start = groups[i][0] - (groups[i][0] > 0 and run[groups[i][0] - 1] in "+(")
        next_i = i + 1
        for j in range(min(len(groups), i + _PHONE_GROUPS), i, -1):
            digits = sum(b - a for a, b in groups[i:j])
            if digits < _PHONE_DIGITS[0]:
                break
            window = run[start : groups[j - 1][1]]
            # the matcher, which also checks the grouping, only for a window that is a valid
            # number as a whole: it tries parts of a failed candidate, which costs 10x more
            hits = digits <= _PHONE_DIGITS[1] and _valid(window, region) and _matches(window, region, offset + start)
            if hits and hits[0][0] == offset + start:  # a number from this group on; later ones come later
                yield hits[0]
                next_i = j
                break
        i = next_i


def find_phones(text: str, regions: Iterable[str] = ("US",)) -> Iterator[tuple[int, int]]:
    """Spans of the phone numbers libphonenumber finds for each region, at leniency
    ``STRICT_GROUPING``: a valid number whose digits are grouped as the number's own
    format groups them (so a row of a table, ``5035 7 0 15 24``, is none).

    libphonenumber takes a number next to more digits (``call 415-555-2671 24 hours``,
    ``+1 415-555-2671 15.01.2011``) for one longer, invalid candidate, and finds
    nothing or a part; in such runs of digit groups (up to _MAX_RUN_GROUPS) the
    stretches are tried too. Cost: libphonenumber's pass is linear in the text, ~10
    microseconds a character on text made of numbers, much less on prose."""
    for region in regions:
        found = _matches(text, region)
        yield from found
        for run in _PHONE_RUN_RE.finditer(text):
            a, b = run.span()
            if b - a >= _PHONE_DIGITS[0] and not any(x <= a and b <= y for x, y in found):
                yield from _run_phones(run.group(), a, region)


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def find_pii(
    text: str,
    kinds: Iterable[str] = PII_KINDS,
    public_only: bool = True,
    phone_regions: Iterable[str] = ("US",),
) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans of personal data in ``text``, sorted.

    Every kind is found on the original text; where finds overlap, the kind earlier
    in :data:`PII_KINDS` wins (an e-mail's digits are no phone number). A phone number
    overlapping any dotted quad (a private IP, a version) is not one."""
    kinds = set(kinds)
    found: list[tuple[int, int, str]] = []
    if EMAIL in kinds:
        found += [(a, b, EMAIL) for a, b in find_emails(text)]
    if not _has_digit(text):
        return found
    if IPV6 in kinds:
        found += [(a, b, IPV6) for a, b in find_ipv6(text, public_only)]
    quads = list(find_ipv4(text, public_only)) if IPV4 in kinds or PHONE in kinds else []
    if IPV4 in kinds:
        found += [(a, b, IPV4) for a, b, redact in quads if redact]
    if PHONE in kinds:
        taken = [(a, b) for a, b, _ in quads]
        found += [
            (a, b, PHONE) for a, b in find_phones(text, phone_regions) if not any(a < qb and qa < b for qa, qb in taken)
        ]
    rank = {kind: i for i, kind in enumerate(PII_KINDS)}
    spans: list[tuple[int, int, str]] = []
    for a, b, kind in sorted(found, key=lambda f: (rank[f[2]], f[0], -f[1])):
        if not any(a < y and x < b for x, y, _ in spans):
            spans.append((a, b, kind))
    return sorted(spans)


def replace_spans(
    text: str, spans: Iterable[tuple[int, int, str]], placeholders: dict[str, str], counts: dict[str, int]
) -> str:
    """``text`` with each (start, end, kind) span (sorted, not overlapping) replaced by
    its kind's placeholder, counted in ``counts``. A span that already is the
    placeholder (a second pass over redacted text) is left and not counted."""
    out, pos = [], 0
    for a, b, kind in spans:
        placeholder = placeholders[kind]
        if text[a:b] == placeholder:
            continue
        out.append(text[pos:a])
        out.append(placeholder)
        pos = b
        counts[kind] = counts.get(kind, 0) + 1
    out.append(text[pos:])
    return "".join(out)


def record_redactions(stage: DocStage, doc: Document, counts: dict[str, int]) -> None:
    """Counts on the document (``metadata["redactions"]``, summed over stages) and as
    the stage's run statistics."""
    total = doc.metadata.setdefault("redactions", {})
    for kind, n in sorted(counts.items()):
        total[kind] = total.get(kind, 0) + n
        stage.add_stat(kind, n)


@dataclasses.dataclass
class PIIRedactConfig:
    emails: bool = True
    ipv4: bool = True
    ipv6: bool = True
    phones: bool = True
    public_ips_only: bool = True  # private and reserved addresses (192.168.x.x, ::1) identify no one
    # libphonenumber regions whose national formats are recognised (ISO 3166 codes);
    # numbers in international format (+CC ...) are found whatever the list.
    phone_regions: list[str] = dataclasses.field(default_factory=lambda: ["US"])
    # Realistic placeholders, as FineWeb's: reserved for documentation, so they identify
    # no one and a second pass finds no public address in them.
    email_placeholder: str = "email@example.com"
    ipv4_placeholder: str = "192.0.2.1"  # RFC 5737 TEST-NET-1
    ipv6_placeholder: str = "2001:db8::1"  # RFC 3849
    phone_placeholder: str = "555-0100"  # NANP's range for fiction

    def validate(self, key: str) -> None:
        unknown = [r for r in self.phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ConfigError(f"{key}.phone_regions: unknown region {unknown[0]!r} (ISO 3166 codes, e.g. US, GB)")

    @property
    def kinds(self) -> list[str]:
        wanted = {EMAIL: self.emails, IPV4: self.ipv4, IPV6: self.ipv6, PHONE: self.phones}
        return [k for k in PII_KINDS if wanted[k]]

    @property
    def placeholders(self) -> dict[str, str]:
        return {
            EMAIL: self.email_placeholder,
            IPV4: self.ipv4_placeholder,
            IPV6: self.ipv6_placeholder,
            PHONE: self.phone_placeholder,
        }


def redact_pii(text: str, cfg: PIIRedactConfig) -> tuple[str, dict[str, int]]:
    """The text with personal data replaced, and the number of each kind replaced."""
    counts: dict[str, int] = {}
    spans = find_pii(text, cfg.kinds, cfg.public_ips_only, cfg.phone_regions)
    return replace_spans(text, spans, cfg.placeholders, counts), counts


@register_stage("pii_redact", PIIRedactConfig)
class PIIRedact(DocStage):
    name = "pii_redact"

    def process(self, doc: Document) -> Union[Document, Drop]:
        doc.text, counts = redact_pii(doc.text, self.config)
        record_redactions(self, doc, counts)
        return doc
