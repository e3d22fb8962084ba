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
        "phonenumbers>=8.13",  # pii_redact: libphonenumber's matcher, metadata inside the wheel (offline)
    ],
    extras_require={
        # The DataflowRunner and gs:// file system, at the same Beam version.
        "dataflow": [f"apache-beam[gcp]=={BEAM_VERSION}"],
        # The dry-run test translates the whole job for Dataflow, so tests need [gcp] too.
        "test": ["pytest>=8", f"apache-beam[gcp]=={BEAM_VERSION}"],
        # curate.torch_loader (an IterableDataset over the shards); the core loader needs numpy only
        "torch": ["torch>=2.1"],
    },
    entry_points={"console_scripts": ["curate=pipelines.cli:main"]},
)
