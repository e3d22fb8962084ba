"""pii_redact: e-mail, IPv4, IPv6 and phone numbers replaced and counted; numbers,
dates, versions, prices, ISBNs and times left alone; one implementation with code_redact."""

import pytest

from curate.config import ConfigError, build
from curate.document import Document
from curate.redact import (
    CodeRedact,
    CodeRedactConfig,
    PIIRedact,
    PIIRedactConfig,
    find_pii,
    redact,
    redact_pii,
    version_shaped,
)

CFG = PIIRedactConfig()


@pytest.mark.parametrize(
    "text,kind,expected",
    [
        ("Write to John.Doe+news@mail.example-corp.co.uk today.", "email", "Write to email@example.com today."),
        ("<maria_garcia77@web.de>", "email", "<email@example.com>"),
        ("mailto:KENJI@PROTONMAIL.CH,", "email", "mailto:email@example.com,"),
        ("Login from 93.184.216.34.", "ipv4", "Login from 192.0.2.1."),
        ("ssh root@x -p 22 203.171.229.215:2222", "ipv4", "ssh root@x -p 22 192.0.2.1:2222"),
        ("host 2a00:1450:4001:81c::200e.", "ipv6", "host 2001:db8::1."),
        ("[2606:4700:4700::1111]:443", "ipv6", "[2001:db8::1]:443"),
        ("2001:4860:0000:0000:0000:0000:0000:8888 answered", "ipv6", "2001:db8::1 answered"),
        ("Call (415) 555-2671 now", "phone", "Call 555-0100 now"),
        ("Call 415.555.2671", "phone", "Call 555-0100"),
        ("or +1 415-555-2671,", "phone", "or 555-0100,"),
        ("London: +44 20 7946 0958.", "phone", "London: 555-0100."),
        ("Paris +33 1 42 68 53 00", "phone", "Paris 555-0100"),
        ("Tel. +49 (0)40 890 85-433", "phone", "Tel. 555-0100"),
        ("E.164: +819012345678", "phone", "E.164: 555-0100"),
        # a number followed by more digits: libphonenumber alone sees one invalid candidate
        ("Call 415-555-2671 24 hours a day", "phone", "Call 555-0100 24 hours a day"),
        ("+1 201-555-5472 15.01.2011", "phone", "555-0100 15.01.2011"),
    ],
)
def test_each_kind_is_redacted_and_counted(text, kind, expected):
    assert redact_pii(text, CFG) == (expected, {kind: 1})


SURVIVORS = [
    # versions and outline numbers: a dotted quad that is not an address
    "version 203.171.229.215",
    "Firefox 3.6.0.12",
    "v1.2.3.4",
    "build 10.0.19041.1052",
    "1.2.3.4.5",
    "§ 203.171.229.215",
    "No. 93.184.216.34",
    "4.0.12.255",
    # private, reserved and documentation addresses identify no one
    "192.168.1.1",
    "10.0.0.1",
    "127.0.0.1",
    "192.0.2.1",
    "fe80::1",
    "::1",
    "2001:db8::1",
    # dates, times, numbers, prices, ISBNs, identifiers
    "2021-03-15",
    "15.03.2021",
    "03/15/2021",
    "2021-03-15T12:30:45Z",
    "12:30",
    "12:30:45",
    "1:02:03.456",
    "$1,234,567.89",
    "€1.234,56",
    "USD 12,345,678",
    "978-3-16-148410-0",
    "ISBN 0-306-40615-2",
    "ISBN 9780306406157",
    "1,234,567",
    "3.14159265",
    "1990-2000",
    "pp. 123-145",
    "94105-1234",
    "40.7128, -74.0060",
    "00:1A:2B:3C:4D:5E",
    "123e4567-e89b-12d3-a456-426614174000",
    "std::vector<int>",
    "a::b",
    "dead::beef",
    # a table row is no phone number (libphonenumber's VALID leniency took it for one)
    "5035 7 0 15 24",
    "1234567890",
    # a retina image name is no e-mail address
    "icon@2x.png",
    "npm i lodash@4.17.21",
    "@username",
]


@pytest.mark.parametrize("text", SURVIVORS)
def test_non_pii_survives(text):
    assert redact_pii(f"See {text} here.", CFG) == (f"See {text} here.", {})


def test_version_shape():
    assert version_shaped("1.2.3.4") and version_shaped("20.20.20.255")
    assert not version_shaped("21.2.3.4") and not version_shaped("1.2.21.4")


def test_find_pii_spans_do_not_overlap_and_email_wins():
    text = "john.4155552671@gmail.com, 8.8.8.80, +1 (415) 555-2671 and 2a00:1450::1"
    spans = find_pii(text)
    assert [(text[a:b], kind) for a, b, kind in spans] == [
        ("john.4155552671@gmail.com", "email"),
        ("+1 (415) 555-2671", "phone"),
        ("2a00:1450::1", "ipv6"),
    ]  # 8.8.8.80 is version-shaped (its first three numbers are <= 20)
    assert all(b <= c for (_, b, _), (c, _, _) in zip(spans, spans[1:]))


def test_second_pass_changes_nothing_and_counts_nothing():
    text, counts = redact_pii("a@b.org 93.184.216.34 2a00:1450::1, (415) 555-2671", CFG)
    assert counts == {"email": 1, "ipv4": 1, "ipv6": 1, "phone": 1}
    assert redact_pii(text, CFG) == (text, {})


def test_options_switch_kinds_and_placeholders():
    text = "a@b.org 93.184.216.34 192.168.0.1 2a00:1450::1 (415) 555-2671"
    cfg = build(
        PIIRedactConfig,
        {
            "phones": False,
            "ipv6": False,
            "public_ips_only": False,
            "email_placeholder": "<EMAIL>",
            "ipv4_placeholder": "<IP>",
        },
    )
    assert redact_pii(text, cfg) == ("<EMAIL> <IP> <IP> 2a00:1450::1 (415) 555-2671", {"email": 1, "ipv4": 2})
    # national formats of another region only with that region listed
    uk = "ring 020 7946 0958 today"
    assert redact_pii(uk, CFG) == (uk, {})
    assert redact_pii(uk, build(PIIRedactConfig, {"phone_regions": ["US", "GB"]}))[1] == {"phone": 1}
    with pytest.raises(ConfigError, match="phone_regions: unknown region 'XX'"):
        build(PIIRedactConfig, {"phone_regions": ["XX"]})


def test_stage_counts_statistics_and_sums_redactions_with_code_redact():
    doc = Document(id="d", text="Mail a@b.org or b@c.org from 93.184.216.34; password = 'hunter22'", source="web")
    stage = PIIRedact(build(PIIRedactConfig, {"email_placeholder": "<EMAIL>"}))
    doc = stage.process(doc)
    assert doc.text == "Mail <EMAIL> or <EMAIL> from 192.0.2.1; password = 'hunter22'"
    assert stage.take_stats() == {"email": 2, "ipv4": 1}
    clean = stage.process(Document(id="e", text="Nothing here.", source="web"))
    assert clean.metadata["redactions"] == {} and stage.take_stats() == {}
    # code_redact on the same document adds its own counts
    doc.metadata["code"] = {"language": "python"}
    doc = CodeRedact(CodeRedactConfig()).process(doc)
    assert doc.metadata["redactions"] == {"email": 2, "ipv4": 1, "secret_assignment": 1}


def test_code_redact_finds_emails_with_the_same_function():
    # icon@2x.png is no address for either stage: one find_emails serves both
    code = 'AUTHOR = "jane@doe.org"\nICON = "icon@2x.png"\n'
    assert redact(code, "python") == ('AUTHOR = "<EMAIL>"\nICON = "icon@2x.png"\n', {"email": 1})
    assert redact_pii(code, CFG)[1] == {"email": 1}


def test_beam_stage_equals_the_core_on_real_text(tmp_path):
    """Real OpenAssistant messages and a Gutenberg book (whose licence holds a real phone
    number and e-mail addresses), with PII added to some: the Beam stage gives the
    core's texts and counts them as statistics."""
    import collections
    import json
    import pickle

    import apache_beam as beam
    from apache_beam.metrics import MetricsFilter

    from curate.counters import NAMESPACE
    from pipelines.apply import apply_stage
    from tests.conftest import shared_path

    added = [
        ("email", "Mail me at ana.silva{}@gmail.com"),
        ("ipv4", "from 93.184.{}.34 today"),
        ("phone", "call (415) 555-{:04d}"),
        ("ipv6", "host 2a00:1450:4001:81c::{:x}"),
        ("phone", "or +44 20 7946 {:04d}."),
    ]
    planted = collections.Counter()
    docs = []
    with open(shared_path("conversations", "oasst-en-100-flat.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            text = json.loads(line)["text"]
            if i % 3 == 0:
                kind, pattern = added[i % len(added)]
                text += " " + pattern.format(i % 200)
                planted[f"stat|conversations|pii_redact|{kind}"] += 1
            docs.append(Document(id=f"m{i}", text=text, source="conversations"))
    book = shared_path("books", "pg11-alice-in-wonderland.txt").read_text(encoding="utf-8-sig")
    docs.append(Document(id="alice", text=book, source="books"))

    cfg = PIIRedactConfig()
    core = {d.id: redact_pii(d.text, cfg) for d in docs}
    out = tmp_path / "kept.pickle"
    p = beam.Pipeline("FnApiRunner")
    res = apply_stage(p | beam.Create(docs), "pii_redact", cfg)

    def write(rows, path=str(out)):
        with open(path, "wb") as f:
            pickle.dump(sorted(rows), f)

    res.kept | beam.Map(lambda d: (d.id, d.text, d.metadata["redactions"])) | beam.combiners.ToList() | beam.Map(write)
    result = p.run()
    result.wait_until_finish()
    kept = pickle.loads(out.read_bytes())
    assert kept == sorted((i, text, counts) for i, (text, counts) in core.items())
    stats = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    }
    expected = collections.Counter()
    for d in docs:
        for kind, n in core[d.id][1].items():
            expected[f"stat|{d.source}|pii_redact|{kind}"] += n
    assert stats == dict(expected)
    # the licence's phone number and two addresses; in the messages, what was added and nothing else
    assert {k: v for k, v in expected.items() if "|books|" in k} == {
        "stat|books|pii_redact|phone": 1,
        "stat|books|pii_redact|email": 2,
    }
    assert {k: v for k, v in expected.items() if "|conversations|" in k} == planted
