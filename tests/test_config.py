import pytest
import yaml

from curate import config
from curate.config import ConfigError

BASE = {
    "inputs": [{"kind": "warc", "paths": ["{warc}"]}],
    "stages": [{"extract": {}}, {"gopher_quality": {"min_words": 20}}, "exact_dedup"],
    "tokenizer": {"train": {"vocab_size": 500}},
    "output": {"num_shards": 2},
}


@pytest.fixture
def warc(tmp_path):
    p = tmp_path / "a.warc.gz"
    p.write_bytes(b"")
    return str(p)


def make(warc, **overrides):
    raw = yaml.safe_load(yaml.safe_dump(BASE).replace("{warc}", warc))
    raw.update(overrides)
    return raw


def error_of(raw) -> str:
    with pytest.raises(ConfigError) as e:
        config.parse(raw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_valid_config_builds_typed_stage_params(warc):
    cfg = config.parse(make(warc))
    assert [s.name for s in cfg.stages] == ["extract", "gopher_quality", "exact_dedup"]
    assert cfg.stages[1].params.min_words == 20
    assert cfg.stages[1].params.max_mean_word_length == 10.0  # the paper's default
    assert cfg.inputs[0].name == "web" and cfg.output.num_shards == 2
    assert cfg.config_hash == config.parse(make(warc)).config_hash


def test_errors_name_the_key(warc):
    assert error_of(make(warc, stages=[{"gopher_quality": {"min_words": "fifty"}}])).startswith(
        "stages.gopher_quality.min_words: expected int | null, got str"
    )
    assert error_of(make(warc, stages=[{"gopher_quality": {"min_wrds": 3}}])).startswith(
        "stages.gopher_quality.min_wrds: unknown key"
    )
    assert error_of(make(warc, stages=["no_such_stage"])).startswith("stages[0].no_such_stage: unknown stage")
    assert error_of(make(warc, output={"num_shards": 0})).startswith("output.num_shards: must be >= 1")
    assert error_of(make(warc, output={"num_shards": 2, "shard_tokens": 10**6})) == (
        "output.shard_tokens: set one of num_shards, shard_tokens, shard_bytes (got num_shards and shard_tokens)"
    )
    assert error_of(make(warc, output={"validation_fraction": 1.0})).startswith(
        "output.validation_fraction: must be below 1"
    )
    assert error_of(make(warc, tokenizer={})) == "tokenizer: set exactly one of 'model' or 'train'"
    assert error_of(make(warc, extra=1)).startswith("extra: unknown top-level key")
    assert error_of(make(warc, inputs=[{"kind": "warc", "paths": ["/no/such/*.warc.gz"]}])) == (
        "inputs[0].paths[0]: no file matches '/no/such/*.warc.gz'"
    )
    assert error_of(make(warc, inputs=[{"kind": "tape", "paths": [warc]}])).startswith(
        "inputs[0].kind: unknown input kind 'tape'"
    )
    assert error_of(
        make(warc, inputs=[{"kind": "warc", "paths": [warc], "options": {"max_body_bytes": True}}])
    ).startswith("inputs[0].options.max_body_bytes: expected int, got bool")
    assert error_of(make(warc, stages=[{"language_id": {"min_score": 2}}])).startswith(
        "stages.language_id.min_score: must be a fraction between 0 and 1, got 2"
    )


def test_load_reports_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load(str(bad))
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(str(tmp_path / "none.yaml"))


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("inputs: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load(str(evil))


def test_shipped_configs_validate():
    for name in ("configs/web.yaml", "configs/sample.yaml"):
        cfg = config.load(name, check_paths=False)
        assert cfg.stages and cfg.inputs


def test_source_names_and_reader_bounds_are_checked_when_the_config_is_read(warc):
    web = make(warc)["inputs"][0]
    assert error_of(make(warc, inputs=[{**web, "name": "web|x"}])) == (
        "inputs[0].name: a source name must match [A-Za-z0-9_.-]+, got 'web|x'"
    )
    # a negative size would skip every record silently: a config error instead
    assert error_of(make(warc, inputs=[{**web, "options": {"max_body_bytes": -1}}])) == (
        "inputs[0].options.max_body_bytes: must be >= 1, got -1"
    )


def test_counter_names_are_built_and_parsed_by_one_helper():
    from curate.counters import CounterName, dropped_name, language_name

    name = dropped_name("web", "gopher_quality/books", "too_few_words")
    assert name == "dropped|web|gopher_quality/books|too_few_words"
    assert CounterName.parse(name) == CounterName("dropped", "web", "gopher_quality/books", "too_few_words")
    assert CounterName.parse(language_name("web", None)).detail == "unknown"
    assert CounterName.parse("dropped|web|only_three") is None
    with pytest.raises(ValueError, match="contains '|'"):
        str(CounterName("kept", "web|x"))
