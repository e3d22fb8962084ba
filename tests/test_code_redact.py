"""code_redact: each secret kind and e-mails replaced and counted; ordinary code untouched."""

import random
import string

import pytest

from curate.document import Document
from curate.redact import CodeRedact, CodeRedactConfig, looks_random, mean_segment_length, redact

# Fake credentials shaped like the real ones (built so no scanner mistakes this file
# for a leak): AWS's documented example key id, random tokens from a seeded generator.
_rng = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def rand(n, alphabet=_ALNUM):
    return "".join(_rng.choice(alphabet) for _ in range(n))


AWS = "AKIA" + "IOSFODNN7EXAMPLE"
GHP = "ghp" + "_" + rand(36)
GH_PAT = "github" + "_pat_" + rand(22) + "_" + rand(59)
SLACK = "xox" + "b-" + "123456789012-" + rand(24)
GOOGLE = "AI" + "za" + rand(35, _ALNUM + "_-")
PRIVATE = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow" + rand(60) + "\n" + rand(64) + "\n-----END RSA " + "PRIVATE KEY-----"
)
ENTROPIC = rand(32)


@pytest.mark.parametrize(
    "line,kind,expected",
    [
        (f'aws_id = "{AWS}"', "aws_access_key", 'aws_id = "<SECRET>"'),
        (f"TOKEN = os.environ.get('X', '{GHP}')", "github_token", "TOKEN = os.environ.get('X', '<SECRET>')"),
        (f"auth: {GH_PAT}", "github_token", "auth: <SECRET>"),
        (f"slack.post(token={SLACK!r})", "slack_token", "slack.post(token='<SECRET>')"),
        (f"url = 'https://hooks.slack.com/services/T0001/B0002/{rand(24)}'", "slack_token", "url = '<SECRET>'"),
        (f'const key = "{GOOGLE}";', "google_api_key", 'const key = "<SECRET>";'),
        (f"KEY = '''\n{PRIVATE}\n'''", "private_key", "KEY = '''\n<SECRET>\n'''"),
        ('db_password = "hunter2!"', "secret_assignment", 'db_password = "<SECRET>"'),
        ('"api_key": "k-live-001122"', "secret_assignment", '"api_key": "<SECRET>"'),
        ("  client_secret: 's3cr3t-value'", "secret_assignment", "  client_secret: '<SECRET>'"),
        ('$config["apiKey"] => "abc123def"', "secret_assignment", '$config["apiKey"] => "<SECRET>"'),
        ('password := "correcthorse"', "secret_assignment", 'password := "<SECRET>"'),
        (f'session_seed = "{ENTROPIC}"', "high_entropy", 'session_seed = "<SECRET>"'),
        ("# Maintainer: Jane Doe <jane.doe@example.org>", "email", "# Maintainer: Jane Doe <<EMAIL>>"),
        ("__author__ = 'a.b+c@mail.co.uk'", "email", "__author__ = '<EMAIL>'"),
    ],
)
def test_each_secret_kind_is_redacted_and_counted(line, kind, expected):
    text, counts = redact(line, "python")
    assert text == expected
    assert counts == {kind: 1}


def test_unquoted_values_only_in_config_languages():
    env = "DB_PASSWORD=hunter2x\nDEBUG=true\n"
    assert redact(env, "shell") == ("DB_PASSWORD=<SECRET>\nDEBUG=true\n", {"secret_assignment": 1})
    code = "password = get_password\n"
    assert redact(code, "python") == (code, {})


ORDINARY = """
import hashlib, re

DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UUID = "123e4567-e89b-12d3-a456-426614174000"
CLASS_NAME = "ThisIsAVeryLongCamelCaseName1"
PASSWORD_PROMPT = "Enter your password: "
password = input(PASSWORD_PROMPT)
token = "NUMBER"
secret = ""
api_key = os.environ["API_KEY"]
api_token = "${API_TOKEN}"
if password == "letmein-please":
    pass
pattern = re.compile(r"[A-Za-z0-9+/=]{20,}")
path = "/usr/local/lib/python3.11/site-packages"
@decorator.attribute
def f(x):
    return x @ matrix.T
dependency = "left-pad@1.3.0"
url = "https://docs.python.org/3/library/os.html#os.getcwd"
"""


def test_no_false_positives_on_ordinary_code():
    text, counts = redact(ORDINARY, "python")
    assert counts == {} and text == ORDINARY


def test_random_token_heuristic():
    assert looks_random(ENTROPIC)
    assert not looks_random("e3b0c44298fc1c149afbf4c8996fb92427ae41e4")  # hex digest: no upper case
    assert not looks_random("ThisIsAVeryLongCamelCaseName1")
    assert not looks_random("short1Aa")
    assert mean_segment_length("CamelCase") == 4.5 and mean_segment_length("aB3-") == 1.0


def test_stage_stores_counts_and_statistics():
    doc = Document(
        "d",
        f'x = "{AWS}"\ny = "{GHP}"\n# bob@example.com, eve@example.com\n',
        "code",
        metadata={"code": {"language": "python"}},
    )
    stage = CodeRedact(CodeRedactConfig())
    out = stage.process(doc)
    assert out is doc and "<SECRET>" in doc.text and "example.com" not in doc.text
    assert doc.metadata["redactions"] == {"aws_access_key": 1, "github_token": 1, "email": 2}
    assert stage.take_stats() == {"aws_access_key": 1, "email": 2, "github_token": 1}
    assert stage.take_stats() == {}  # drained
    only_emails = CodeRedact(CodeRedactConfig(secrets=False))
    d2 = Document("d", f'x = "{AWS}" # bob@example.com', "code")
    only_emails.process(d2)
    assert d2.text == f'x = "{AWS}" # <EMAIL>' and d2.metadata["redactions"] == {"email": 1}
