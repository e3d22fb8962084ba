"""datatrove 0.10.1's web path, run by bench_web_path.py in the peers' venv:
WarcReader -> Trafilatura -> LanguageFilter -> GopherRepetition -> GopherQuality -> C4Quality
-> FineWebQuality -> JsonlWriter, with LocalPipelineExecutor (tasks = workers = N).

    python _datatrove_web_path.py WARC_DIR OUT_DIR WORKERS LID_MODEL

Prints one JSON line: the kept documents' ids (WARC-Record-ID) and the wall time of the
executor's run. C4's bad-words filter is left out (it downloads its list); the LID model
is the local lid.176.ftz (datatrove would download lid.176.bin); Trafilatura's per-page
timeout is 10 s instead of 1 s, so that a loaded machine does not drop pages at random.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import sys
import time

from datatrove.utils.lid import FT176LID

LID_MODEL = sys.argv[4] if len(sys.argv) > 4 else ""


class LocalFT176(FT176LID):  # the local .ftz instead of a download
    MODEL_URL = LID_MODEL
    MODEL_SUBFOLDER = "ft176-local-ftz"


def main():
    warc_dir, out_dir, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ.setdefault("HF_HOME", os.path.join(out_dir, "hf"))
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    lid = LanguageFilter(languages=["en"], language_threshold=0.65)
    lid.model = LocalFT176(["en"])
    n_files = len(glob.glob(os.path.join(warc_dir, "*.warc.gz")))
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(warc_dir, glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True, timeout=10.0),
            lid,
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(),
            FineWebQualityFilter(),
            JsonlWriter(os.path.join(out_dir, "kept")),
        ],
        tasks=min(workers, n_files),
        workers=workers,
        logging_dir=os.path.join(out_dir, "logs"),
        skip_completed=False,
    )
    start = time.time()
    executor.run()
    seconds = time.time() - start
    kept = []
    for path in sorted(glob.glob(os.path.join(out_dir, "kept", "*.jsonl.gz"))):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            kept.extend(json.loads(line)["id"] for line in f)
    print(json.dumps({"kept": kept, "seconds": seconds}))


if __name__ == "__main__":
    main()
