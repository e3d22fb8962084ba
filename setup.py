from setuptools import find_packages, setup

# The one place the Beam version is set: the launcher, the workers installed from this
# package and the Dockerfile's SDK image (its BEAM_VERSION, checked by
# tests/test_dataflow.py) must agree, or Dataflow workers may not run the job.
BEAM_VERSION = "2.77.0"

setup(
    name="curate",
    version="0.1.0",
    description="Pretraining data curation on Apache Beam: WARC/books/code/conversations to tokenized Parquet shards",
    python_requires=">=3.10",
    packages=find_packages(include=["curate", "curate.*", "pipelines", "pipelines.*", "classifiers", "classifiers.*"]),
    # Model files (and the HumanEval eval set) fetched by `python -m curate.models` at set-up time (never at run time).
    package_data={"curate": ["models/*.ftz", "models/*.model*", "models/*.jsonl.gz", "data/*"]},
    install_requires=[
        f"apache-beam=={BEAM_VERSION}",
        "warcio>=1.7",
        "trafilatura>=2.0",
        "resiliparse>=0.14",  # extract engine: resiliparse (DCLM)
        "lxml_html_clean",  # trafilatura's jusText needs it; old pips leave it out
        "fasttext-numpy2-wheel>=0.9.2",
        "langdetect>=1.0.9",
        "datasketch>=1.6",
        "sentencepiece>=0.2",
        "pyarrow>=15",
        "numpy>=1.24",
        "pyyaml>=6",
        "xxhash>=3",
        "matplotlib>=3.5",  # curate report: plots drawn to SVG, embedded in the page
        "sentencex>=1.0.32",  # sentence segmentation (curate.segment)
        # word segmentation of languages written without spaces (curate.lang)
        "jieba>=0.42",  # Chinese
        "fugashi>=1.3",  # Japanese (MeCab) ...
        "unidic-lite>=1.0.8",  # ... and its dictionary
        "pythainlp>=5.0",  # Thai
        "phonenumbers>=8.13",  # pii_redact: libphonenumber's matcher, metadata inside the wheel (offline)
    ],
    extras_require={
        # The DataflowRunner and gs:// file system, at the same Beam version.
        "dataflow": [f"apache-beam[gcp]=={BEAM_VERSION}"],
        # The dry-run test translates the whole job for Dataflow, so tests need [gcp] too.
        # (wordfreq, stop-words: the sources curate/langparams.py derives the per-language
        # defaults from; a test re-derives part of curate/data/language_params.json)
        "test": ["pytest>=8", f"apache-beam[gcp]=={BEAM_VERSION}", "wordfreq==3.1.1", "stop-words==2025.11.4"],
        # curate.torch_loader (an IterableDataset over the shards); the core loader needs numpy only
        "torch": ["torch>=2.1"],
    },
    entry_points={"console_scripts": ["curate=pipelines.cli:main"]},
)
