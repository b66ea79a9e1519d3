"""The integrity manifest of a result folder: ``OUT/NAME/manifest.json``, written last.

It records what made the result (the config key, ``layerwise.__version__``, a hash of the package's source files, the
git commit of the checkout it ran from) and a SHA-256 of every other file in the folder. `verify_manifest` reads it
back and names what is wrong: no manifest, a file missing, truncated or altered since it was written, a file that the
manifest does not list, or a result made by other source (a different source hash). Resuming ``reproduce`` runs such
a result again; ``show`` and the report flag it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT = 1
GIT_TIMEOUT_S = 2.0
_CHUNK = 2**20


def _package_dir() -> Path:
    import layerwise

    return Path(layerwise.__file__).resolve().parent


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _source_files(package: Path) -> list[Path]:
    """Every ``*.py`` file and every file in a ``templates`` folder under ``package``, sorted (no caches)."""
    files = []
    for path in package.rglob("*"):
        relative = path.relative_to(package)
        if "__pycache__" in relative.parts or not path.is_file():
            continue
        if path.suffix == ".py" or "templates" in relative.parts[:-1]:
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(package).as_posix())


@functools.cache
def source_hash() -> str:
    """SHA-256 over the installed package's source files (names and contents, sorted); computed once per process."""
    package = _package_dir()
    digest = hashlib.sha256()
    for path in _source_files(package):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(bytes.fromhex(_file_sha256(path)))
    return digest.hexdigest()


def _git(package: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True, check=True,
                          timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                          env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout.strip()


@functools.cache
def git_state() -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout the package runs from; ``(None, None)`` when it is not one (an
    installed copy, even inside some other repository), git is missing, or git fails or takes too long."""
    package = _package_dir()
    try:
        if not _git(package, "ls-files", "--", "__init__.py"):  # not tracked here: a copy, not the checkout
            return None, None
        commit = _git(package, "rev-parse", "HEAD") or None
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None, None
    try:
        dirty = bool(_git(package, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        dirty = None
    return commit, dirty


REDRAWN = "replot"
"""The subfolder `layerwise plot` redraws figures into: derived from data.nc, so not part of the result."""


def _folder_files(folder: Path) -> list[str]:
    """The files in ``folder`` (relative POSIX paths, sorted), the manifest, its staging file and redrawn figures
    (``replot/``, and the staging folders `layerwise plot` writes them through) excepted."""
    names = []
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        top = name.split("/")[0]
        if top == REDRAWN or top.startswith(f".{REDRAWN}.partial-"):
            continue
        if path.is_file() and name not in (MANIFEST, f".{MANIFEST}.partial"):
            names.append(name)
    return sorted(names)


def write_manifest(folder, *, experiment: str, config_key: str) -> Path:
    """Write ``folder/manifest.json`` atomically (a staging file, flushed, then renamed); call it after every other
    file of the result is written."""
    import layerwise

    folder = Path(folder)
    commit, dirty = git_state()
    manifest = {
        "format": FORMAT,
        "experiment": experiment,
        "config_key": config_key,
        "layerwise_version": layerwise.__version__,
        "source_hash": source_hash(),
        "git_commit": commit,
        "git_dirty": dirty,
        "files": {name: {"sha256": _file_sha256(folder / name), "bytes": (folder / name).stat().st_size}
                  for name in _folder_files(folder)},
    }
    staging = folder / f".{MANIFEST}.partial"
    with open(staging, "w", encoding="utf-8") as file:
        file.write(json.dumps(manifest, indent=2) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(staging, folder / MANIFEST)
    return folder / MANIFEST


def read_manifest(folder) -> dict:
    """The manifest of ``folder``; a `ValueError` (or `OSError`) saying why it cannot be used."""
    manifest = json.loads((Path(folder) / MANIFEST).read_bytes().decode("utf-8"))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("bytes"), int)
            for entry in manifest["files"].values()):
        raise ValueError("not a layerwise manifest")
    return manifest


def verify_manifest(folder, *, check_source: bool = True) -> str | None:
    """What is wrong with the result in ``folder`` (several problems joined by "; "), or None when every file is as
    the manifest recorded it and, with ``check_source``, the result was made by this source."""
    folder = Path(folder)
    try:
        manifest = read_manifest(folder)
    except FileNotFoundError:
        return f"no {MANIFEST} (an unfinished write, or a result from a layerwise without manifests)"
    except UnicodeDecodeError:
        return f"{MANIFEST} is damaged (not UTF-8)"
    except OSError as error:
        return f"{MANIFEST} cannot be read ({error.strerror or error})"
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        return f"{MANIFEST} is damaged ({error})"
    problems = []
    for name, entry in sorted(manifest["files"].items()):
        path = folder / name
        try:
            size = path.stat().st_size
            if not path.is_file():
                problems.append(f"{name} is not a file")
            elif size < entry["bytes"]:
                problems.append(f"{name} is truncated ({size} of {entry['bytes']} bytes)")
            elif size != entry["bytes"] or _file_sha256(path) != entry["sha256"]:
                problems.append(f"{name} was altered since it was written (SHA-256 differs)")
        except FileNotFoundError:
            problems.append(f"{name} is missing")
        except OSError as error:
            problems.append(f"{name} cannot be read ({error.strerror or error})")
    try:
        extra = [name for name in _folder_files(folder) if name not in manifest["files"]]
    except OSError as error:
        extra = []
        problems.append(f"the folder cannot be listed ({error.strerror or error})")
    if extra:
        problems.append(f"{', '.join(map(repr, extra))} not listed in {MANIFEST}")
    if check_source and manifest.get("source_hash") != source_hash():
        problems.append(f"made by other layerwise source (version {manifest.get('layerwise_version')}, source "
                        f"{str(manifest.get('source_hash'))[:12]}; this one is {source_hash()[:12]})")
    return "; ".join(problems) or None
