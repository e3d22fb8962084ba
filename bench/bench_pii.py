"""PII redaction: our ``pii_redact`` against datatrove's ``PIIFormatter`` (FineWeb's PII
step) on the same real text in one run.

Text: the 181 article texts of ../shared/data/html/ground-truth.json, the two books of
../shared/data/books in chunks of ~5,000 characters (paragraph boundaries), and the
1,167 OpenAssistant messages of ../shared/data/conversations.

1. Clean text, as it is: what each tool changes (whitespace tokens and characters
   changed, documents touched), with the changed strings listed so one can see whether
   they were personal data (the real text holds a few: the Gutenberg licence's phone
   number and e-mail addresses, for one).
2. Planted text: into each document, at random token boundaries (seeded), one item of
   each PII kind and two decoys that must survive (versions, dates, times, prices,
   ISBNs, numbers, ...). Recall per kind: the share of planted items of which every
   token was changed (a partial redaction counts as a miss). Decoy survival per decoy
   kind: the share left untouched. False redactions: tokens changed that belong to
   neither a planted item nor a decoy.

How an item is "changed": the output's whitespace tokens are aligned to the input's
with difflib (the same measure for both tools, whatever their placeholders).

Planted PII: e-mail addresses (assorted local parts and domains, wrapped in <>, (),
mailto: or followed by punctuation), random public IPv4 addresses (uniform over the
global space, sometimes with a port), random global IPv6 addresses (2000::/3, with
compressed, exploded and bracketed forms), valid phone numbers of 20 regions made by
varying libphonenumber's example numbers, written in international format (+CC) for
all and in national formats for the NANP (US/CA) regions, the default ``phone_regions``.

datatrove runs in the peers' venv ($CURATE_PEER_PYTHON, bench/setup_peers.sh) in a subprocess. Times are
CPU seconds of each tool's own loop (process time: the machine is shared).

    nice -n 10 .venv/bin/python bench/bench_pii.py [--data ../shared/data] [--show 15]
"""

from __future__ import annotations

import argparse
import collections
import difflib
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import phonenumbers  # noqa: E402
from _peers import require_peer_python  # noqa: E402

from curate.redact import PIIRedactConfig, redact_pii  # noqa: E402

PEER = r"""
import json, sys, time
from datatrove.pipeline.formatters import PIIFormatter
texts = json.load(sys.stdin)
f = PIIFormatter()
t = time.process_time()
out = [f.format(x) for x in texts]
json.dump({"s": time.process_time() - t, "out": out}, sys.stdout)
"""
PII_KINDS = ("email", "ipv4", "ipv6", "phone")
TOKEN_RE = re.compile(r"\S+")


# ----------------------------------------------------------------------------- corpus


def corpus(data: str) -> list[tuple[str, str]]:
    """(part, text) for every document."""
    docs = []
    with open(os.path.join(data, "html", "ground-truth.json"), encoding="utf-8") as f:
        for key in sorted(truth := json.load(f)):
            docs.append(("articles", truth[key]["articleBody"]))
    for name in sorted(os.listdir(os.path.join(data, "books"))):
        with open(os.path.join(data, "books", name), encoding="utf-8-sig") as f:
            paragraphs = f.read().replace("\r\n", "\n").split("\n\n")
        chunk = []
        for p in paragraphs:
            chunk.append(p)
            if sum(len(c) for c in chunk) >= 5000:
                docs.append(("books", "\n\n".join(chunk)))
                chunk = []
        if chunk:
            docs.append(("books", "\n\n".join(chunk)))
    with open(os.path.join(data, "conversations", "oasst-en-100-flat.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                docs.append(("conversations", json.loads(line)["text"]))
    return docs


# ----------------------------------------------------------------------------- planting

FIRST = ["john", "maria", "wei", "olga", "ahmed", "li", "sarah", "jean-pierre", "kenji", "ana", "tom", "priya"]
LAST = ["smith", "garcia", "zhang", "ivanova", "hassan", "o.brien", "mueller", "dubois", "tanaka", "silva"]
DOMAINS = [
    "gmail.com",
    "yahoo.co.uk",
    "outlook.fr",
    "web.de",
    "mail.example-corp.com",
    "cs.stanford.edu",
    "company.io",
    "uni-heidelberg.de",
    "protonmail.ch",
    "163.com",
    "hotmail.com",
    "post.harvard.edu",
    "shop.online",
    "agency.gov.au",
    "my-startup.ai",
]
REGIONS = [
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "IN",
    "AU",
    "BR",
    "JP",
    "CN",
    "ES",
    "IT",
    "NL",
    "MX",
    "ZA",
    "NG",
    "RU",
    "KR",
    "SE",
    "PL",
]
NANP = ("US", "CA")


def email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}.{last}",
            f"{first}_{last}",
            f"{first}+news",
            f"{last}{rng.randint(1950, 2005)}",
            first,
        ]
    )
    address = f"{local}@{rng.choice(DOMAINS)}"
    return address.upper() if rng.random() < 0.05 else address


def ipv4(rng: random.Random) -> str:
    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global:
            port = f":{rng.choice([22, 80, 443, 8080, 3389])}" if rng.random() < 0.15 else ""
            return f"{ip}{port}"


def ipv6(rng: random.Random) -> str:
    while True:
        prefix = (0x2000 + rng.getrandbits(13)) << 112 | rng.getrandbits(48) << 64
        iid = rng.choice([rng.getrandbits(64), rng.getrandbits(16), rng.getrandbits(32) << 16 | 1])
        ip = ipaddress.IPv6Address(prefix | iid)
        if ip.is_global:
            form = rng.random()
            s = ip.exploded if form < 0.2 else str(ip)
            s = s.upper() if rng.random() < 0.1 else s
            return f"[{s}]:443" if form > 0.9 else s


def _valid_number(rng: random.Random, region: str):
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    nsn = phonenumbers.national_significant_number(example)  # keeps Italy's leading zero
    while True:
        digits = nsn[:-4] + "".join(str(rng.randint(0, 9)) for _ in range(4))
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(number):
            return number


def phone(rng: random.Random) -> str:
    region = rng.choice(NANP) if rng.random() < 0.4 else rng.choice(REGIONS)
    number = _valid_number(rng, region)
    fmt = phonenumbers.PhoneNumberFormat
    if region in NANP and rng.random() < 0.7:
        n = phonenumbers.national_significant_number(number)
        a, b, c = n[:3], n[3:6], n[6:]
        return rng.choice(
            [
                f"({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"1-{a}-{b}-{c}",
                f"+1 {a} {b} {c}",
                f"({a}){b}-{c}",
                f"{a} {b} {c}",
            ]
        )
    return phonenumbers.format_number(number, rng.choice([fmt.INTERNATIONAL, fmt.INTERNATIONAL, fmt.E164]))


MAKERS = {"email": email, "ipv4": ipv4, "ipv6": ipv6, "phone": phone}
WRAPS = ["{}", "{}", "{}", "{}.", "{},", "({})", "<{}>", "{};", '"{}"']


def decoy(rng: random.Random) -> tuple[str, str]:
    """(decoy kind, text) that no tool should change."""
    v = lambda: f"{rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 255)}"  # noqa: E731
    wide = lambda: f"{rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"  # noqa: E731
    y, mo, d = rng.randint(1900, 2030), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    choices = {
        "version_cued": lambda: f"{rng.choice(['version', 'Version', 'v.', 'release', 'build', 'firmware'])} {v()}",
        "version_product": lambda: (
            f"{rng.choice(['Firefox', 'Python', 'Windows', 'nginx', 'Android', 'Office'])} {v()}"
        ),
        "version_bare": v,
        "version_bare_wide": wide,  # a third number up to 255 (Flash Player 11.2.202.228)
        "semver": lambda: f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "date": lambda: rng.choice(
            [
                f"{y}-{mo:02d}-{d:02d}",
                f"{d:02d}.{mo:02d}.{y}",
                f"{mo}/{d}/{y}",
                f"{y}/{mo:02d}/{d:02d}",
                f"{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z",
            ]
        ),
        "time": lambda: rng.choice(
            [f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}", f"{h}:{mi:02d}:{s:02d}.{rng.randint(0, 999):03d}"]
        ),
        "price": lambda: rng.choice(
            [
                f"${rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}",
                f"€{rng.randint(1, 9999)},{rng.randint(0, 99):02d}",
                f"USD {rng.randint(1000, 99999999):,}",
                f"£{rng.randint(1, 999)}.99",
            ]
        ),
        "isbn": lambda: rng.choice(
            [
                "978-3-16-148410-0",
                "0-306-40615-2",
                "ISBN 9780306406157",
                "978-0-14-044913-6",
                "ISBN-10: 0-19-852663-6",
                "0-684-84328-5",
                "978-1-4028-9462-6",
            ]
        ),
        "number": lambda: rng.choice(
            [
                f"{rng.randint(1000, 99999999):,}",
                str(rng.randint(10**6, 10**9)),
                f"{rng.uniform(0, 1000):.6f}",
                f"{rng.randint(1900, 2000)}-{rng.randint(2001, 2030)}",
                f"pp. {rng.randint(1, 300)}-{rng.randint(301, 900)}",
                f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
                f"{rng.uniform(-90, 90):.4f}, {rng.uniform(-180, 180):.4f}",
            ]
        ),
        "hex_id": lambda: rng.choice(
            [
                "00:1A:2B:3C:4D:5E",
                "123e4567-e89b-12d3-a456-426614174000",
                f"{rng.getrandbits(64):016x}",
                "sha256:9f86d081884c7d65",
            ]
        ),
    }
    kind = rng.choice(sorted(choices))
    return kind, choices[kind]()


def plant(text: str, rng: random.Random) -> tuple[str, list[tuple[int, int, str, bool]]]:
    """``text`` with one item of each PII kind and two decoys inserted at token
    boundaries: the new text and the (start, end, kind, is_pii) spans."""
    items = [(k, MAKERS[k](rng), True) for k in PII_KINDS] + [(*decoy(rng), False) for _ in range(2)]
    rng.shuffle(items)
    bounds = [0] + [m.end() + 1 for m in re.finditer(r"\S(?=\s)", text)]
    cuts = sorted(rng.choice(bounds) for _ in items)
    out, spans, pos = [], [], 0
    length = 0
    for cut, (kind, value, is_pii) in zip(cuts, items):
        piece = text[pos:cut]
        out.append(piece)
        length += len(piece)
        wrap = rng.choice(WRAPS) if is_pii else "{}"
        before, after = wrap.split("{}")
        start = length + len(before)
        spans.append((start, start + len(value), kind, is_pii))
        insert = f"{before}{value}{after} "
        out.append(insert)
        length += len(insert)
        pos = cut
    out.append(text[pos:])
    return "".join(out), spans


# ----------------------------------------------------------------------------- measuring


def changed_tokens(before: str, after: str) -> list[tuple[int, int]]:
    """Character spans of the input's whitespace tokens that the output changed."""
    a = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(before)]
    b = [m.group() for m in TOKEN_RE.finditer(after)]
    sm = difflib.SequenceMatcher(None, [t for *_, t in a], b, autojunk=False)
    return [(a[i][0], a[i][1]) for op, i1, i2, _, _ in sm.get_opcodes() if op != "equal" for i in range(i1, i2)]


def overlaps(span, spans) -> bool:
    return any(span[0] < e and s < span[1] for s, e, *_ in spans)


def ours(texts: list[str]) -> tuple[list[str], float]:
    cfg = PIIRedactConfig()
    t = time.process_time()
    out = [redact_pii(x, cfg)[0] for x in texts]
    return out, time.process_time() - t


def datatrove(texts: list[str]) -> tuple[list[str], float]:
    res = subprocess.run(
        [require_peer_python(), "-c", PEER], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    got = json.loads(res.stdout)
    return got["out"], got["s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--show", type=int, default=15, help="changed strings listed per tool on clean text")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    require_peer_python()
    docs = corpus(args.data)
    texts = [t for _, t in docs]
    rng = random.Random(args.seed)
    planted = [plant(t, rng) for t in texts]
    n_chars = sum(map(len, texts))
    print(f"{len(docs)} documents ({dict(collections.Counter(p for p, _ in docs))}), {n_chars:,} characters")
    tools = {"ours (pii_redact)": ours, "datatrove PIIFormatter": datatrove}
    report = {}
    for name, run in tools.items():
        clean_out, clean_s = run(texts)
        planted_out, planted_s = run([t for t, _ in planted])
        # 1. clean text
        touched, tok_changed, char_changed, strings = 0, 0, 0, collections.Counter()
        n_tokens = 0
        for before, after in zip(texts, clean_out):
            n_tokens += len(TOKEN_RE.findall(before))
            if before == after:
                continue
            touched += 1
            for s, e in changed_tokens(before, after):
                tok_changed += 1
                char_changed += e - s
                strings[before[s:e]] += 1
        # 2. planted text
        found, total = collections.Counter(), collections.Counter()
        survived, decoys = collections.Counter(), collections.Counter()
        false_tokens, planted_tokens = 0, 0
        for (text, spans), after in zip(planted, planted_out):
            changed = changed_tokens(text, after)
            tokens = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
            planted_tokens += sum(1 for t in tokens if not overlaps(t, spans))
            false_tokens += sum(1 for c in changed if not overlaps(c, spans))
            for s, e, kind, is_pii in spans:
                mine = [t for t in tokens if overlaps(t, [(s, e)])]
                hit = [t for t in mine if t in set(changed)]
                if is_pii:
                    total[kind] += 1
                    found[kind] += len(hit) == len(mine)
                else:
                    decoys[kind] += 1
                    survived[kind] += not hit
        report[name] = dict(
            clean=dict(docs_touched=touched, tokens_changed=tok_changed, tokens=n_tokens, chars_changed=char_changed),
            strings=strings,
            recall={k: (found[k], total[k]) for k in PII_KINDS},
            decoys={k: (survived[k], decoys[k]) for k in sorted(decoys)},
            false_tokens=(false_tokens, planted_tokens),
            secs=(clean_s, planted_s),
        )
    names = list(tools)
    print(f"\n{'':34s}" + "".join(f"{n:>26s}" for n in names))
    print("recall on planted PII (all tokens of the item changed)")
    for k in PII_KINDS:
        cells = [report[n]["recall"][k] for n in names]
        print(f"  {k:32s}" + "".join(f"{f / t:>18.4f} ({f}/{t})".rjust(26) for f, t in cells))
    print("false redactions, clean text as it is")
    for label, key in (
        ("documents touched", "docs_touched"),
        ("tokens changed", "tokens_changed"),
        ("characters changed", "chars_changed"),
    ):
        print(f"  {label:32s}" + "".join(f"{report[n]['clean'][key]:>26,d}" for n in names))
    print(
        f"  {'share of tokens changed':32s}"
        + "".join(f"{report[n]['clean']['tokens_changed'] / report[n]['clean']['tokens']:>26.2e}" for n in names)
    )
    print(
        f"  {'share of characters changed':32s}"
        + "".join(f"{report[n]['clean']['chars_changed'] / n_chars:>26.2e}" for n in names)
    )
    print("planted text: decoys left untouched (must survive)")
    for k in sorted(report[names[0]]["decoys"]):
        cells = [report[n]["decoys"][k] for n in names]
        print(f"  {k:32s}" + "".join(f"{s / t:>18.4f} ({s}/{t})".rjust(26) for s, t in cells))
    print(
        f"  {'other tokens changed':32s}"
        + "".join(f"{report[n]['false_tokens'][0]:>18,d} of {report[n]['false_tokens'][1]:,}".rjust(26) for n in names)
    )
    print("CPU seconds (clean, planted; process time, one core)")
    print(
        f"  {'':32s}" + "".join(f"{report[n]['secs'][0]:>12.2f}, {report[n]['secs'][1]:.2f}".rjust(26) for n in names)
    )
    for n in names:
        print(f"\nclean text, strings {n} changed (most common {args.show}):")
        for s, c in report[n]["strings"].most_common(args.show):
            print(f"  {c:4d}  {s[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
