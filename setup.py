from setuptools import find_packages, setup

setup(
    name="curate",
    version="0.1.0",
    description="Pretraining data curation on Apache Beam: WARC/books/code/conversations to tokenized Parquet shards",
    python_requires=">=3.10",
    packages=find_packages(include=["curate", "curate.*", "pipelines", "pipelines.*", "classifiers", "classifiers.*"]),
    # Model files fetched by `python -m curate.models` at set-up time (never at run time).
    package_data={"curate": ["models/*.ftz", "models/*.model*", "data/*"]},
    install_requires=[
        "apache-beam>=2.60",
        "warcio>=1.7",
        "trafilatura>=2.0",
        "lxml_html_clean",  # trafilatura's jusText needs it; old pips leave it out
        "fasttext-numpy2-wheel>=0.9.2",
        "langdetect>=1.0.9",
        "datasketch>=1.6",
        "sentencepiece>=0.2",
        "pyarrow>=15",
        "numpy>=1.24",
        "pyyaml>=6",
        "xxhash>=3",
        "phonenumbers>=8.13",  # pii_redact: libphonenumber's matcher, metadata inside the wheel (offline)
    ],
    extras_require={"test": ["pytest>=8"]},
    entry_points={"console_scripts": ["curate=pipelines.cli:main"]},
)
