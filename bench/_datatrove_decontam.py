"""datatrove 0.10.1's n-gram decontamination (NGramsDecontIndexer + NGramsDecontFilter,
12-grams, whole-document drop) on a JSONL file of documents.

Run by the peers' venv ($CURATE_PEER_PYTHON) from bench_decontam.py:
    python _datatrove_decontam.py ITEMS.jsonl DOCS.jsonl WORKDIR
ITEMS: one eval item per line, {"task", "query", "text"} (text = the gold answer, query
= the question/prompt, as the indexer takes documents). Prints one JSON line: index
build seconds, filter seconds (index already loaded), the dropped documents' ids with
the n-gram that matched (datatrove's own normalised form).

The indexer checks that lighteval is installed and its ``run()`` always imports it to
add its registry's tasks; given none, it adds nothing, so the check is switched off and
an empty stand-in module takes lighteval's place (lighteval would download its data
sets). The indexing itself is datatrove's code, unchanged.
"""

import importlib.machinery
import json
import os
import sys
import time
import types


def _lighteval_stand_in():
    class Registry:
        def __init__(self, *args, **kwargs):
            pass

        def get_task_dict(self, tasks):
            return {}

    class LightevalTask:
        @staticmethod
        def load_datasets(tasks):
            pass

    contents = {
        "lighteval": {},
        "lighteval.tasks": {},
        "lighteval.tasks.lighteval_task": {"LightevalTask": LightevalTask},
        "lighteval.tasks.registry": {"Registry": Registry},
    }
    for name, attrs in contents.items():
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)  # datatrove checks find_spec()
        module.__dict__.update(attrs)
        sys.modules[name] = module


def main():
    items_path, docs_path, work = sys.argv[1:4]
    os.environ.setdefault("HF_HOME", os.path.join(work, "hf"))
    _lighteval_stand_in()
    from datatrove.data import Document
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer

    NGramsDecontIndexer._requires_dependencies = []  # lighteval: see the module docstring
    config = NGramsDecontConfig(n_grams=12, find_query_ngrams=True, find_overlap_ngrams=True)
    with open(items_path, encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    index_dir = os.path.join(work, "index")
    start = time.perf_counter()
    indexer = NGramsDecontIndexer(index_dir, lighteval_tasks=[], config=config)
    indexer.run(
        (
            Document(text=it["text"], id=str(i), metadata={"query": it["query"], "task": it["task"]})
            for i, it in enumerate(items)
        ),
        rank=0,
        world_size=1,
    )
    build_s = time.perf_counter() - start
    filt = NGramsDecontFilter(index_dir, config=config)
    filt.load_index_hashes()
    with open(docs_path, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    filt.filter(Document(text="warm up the word tokenizer", id="warm"))
    dropped = {}
    start = time.perf_counter()
    for d in docs:
        doc = Document(text=d["text"], id=d["id"])
        if filt.filter(doc) is not True:
            dropped[d["id"]] = doc.metadata.get("contaminated_ngram")
    filter_s = time.perf_counter() - start
    print(json.dumps({"build_s": build_s, "filter_s": filter_s, "dropped": dropped}))


if __name__ == "__main__":
    main()
