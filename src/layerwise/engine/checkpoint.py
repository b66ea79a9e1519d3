r"""Checkpoints of long `train` calls: a run killed after an hour resumes from its last checkpoint, bitwise equal to
a run never interrupted.

With a `Checkpointer` the engine runs a call's recording segments in chunks of ``every_segments`` (one compiled
program runs every chunk, the first from a placeholder carry that it replaces by the first carry: a static length,
the last chunk padded with empty segments whose records are dropped, so no recompiles; a call of one chunk runs as
it would without a checkpointer) and, after a chunk, saves the scan's carry — params, optimiser state, the
diverged step and the epoch's batch order, per run — with the records so far and the number of chunks done. (The
PRNG keys do not evolve: every draw is ``fold_in(key, step)``; they are part of the fingerprint.) A chunk is the same compiled loop body as the single call, so chunked results are bitwise those of the
single call; a resumed call continues from the saved carry, so its results are too.

Each `train` call inside a checkpointer gets its own file, ``call-NNNN.npz`` (its index among the calls), whose
header holds a *fingerprint* of the call: a SHA-256 of the call's jaxpr (model, loss, optimiser and schedule,
observables, batching: everything compiled), of every input array (params, task, hyperparameters, keys, the model's
arrays, the record steps), the chunk length and the JAX version and backend; and a checksum of every array saved.
A file whose fingerprint differs (other inputs or code), or that does not read or does not match its checksum, is
named in one line (``on_problem``) and the call starts over: a checkpoint is never used silently wrong. Files are
written atomically (a temporary file, flushed to disk, then ``os.replace``), so a kill at any moment leaves the
previous checkpoint or the new one, never half of one.

Example:
    >>> import jax, tempfile
    >>> from layerwise import data, init
    >>> from layerwise.engine import train
    >>> from layerwise.models import DeepLinearNetwork
    >>> model = DeepLinearNetwork(widths=(4, 3, 2))
    >>> task = data.whitened_regression(jax.random.PRNGKey(0), 40, 4, 2)
    >>> params = jax.vmap(lambda k: init.gaussian_init(k, model, 0.5))(jax.random.split(jax.random.PRNGKey(1), 2))
    >>> with Checkpointer(tempfile.mkdtemp(), every_segments=5) as checkpoints:
    ...     result = train(model, params, task, "adam", steps=100, record_steps=list(range(0, 101, 5)))
    >>> sorted(p.name for p in checkpoints.directory.iterdir()), checkpoints.saved
    (['SCOPE', 'call-0000.npz'], 5)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.extend.core import ClosedJaxpr, Jaxpr
import numpy as np

from layerwise.engine.records import shard_runs
from layerwise.errors import LayerwiseError, check_positive_int

FORMAT = 1
"""Version of the checkpoint file layout (a file of another layout is not read)."""
SCOPE_FILE = "SCOPE"
_ACTIVE: list["Checkpointer"] = []


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


class Checkpointer:
    """Where and how often `train` calls save their state, as a context manager (every `train` call inside it,
    unless given ``checkpoint=``) or passed as ``train(..., checkpoint=checkpointer)``.

    Args:
        directory: folder for the checkpoint files (created at the first save).
        every_segments: recording segments per chunk: a checkpoint can be saved after every chunk.
        min_interval_s: seconds since the call began or last saved before the next save (0: after every chunk).
            Calls shorter than this write nothing and cost nothing beyond their chunked execution.
        scope: what the checkpoints belong to (e.g. an experiment's config key); a directory holding another
            scope's checkpoints is emptied on entering.
        on_problem: receives the one line about a checkpoint that cannot be used (default: to standard error).
    """

    def __init__(self, directory, every_segments: int = 10, *, min_interval_s: float = 0.0, scope: str = "",
                 on_problem: Callable[[str], None] | None = None):
        check_positive_int("every_segments", every_segments)
        if not isinstance(min_interval_s, (int, float)) or not math.isfinite(min_interval_s) or min_interval_s < 0:
            raise LayerwiseError(f"min_interval_s must be a finite number >= 0 (seconds), got {min_interval_s!r}")
        self.directory = Path(directory)
        self.every_segments = every_segments
        self.min_interval_s = float(min_interval_s)
        self.scope = str(scope)
        self.on_problem = on_problem or _warn
        self.saved = 0
        """How many checkpoints this checkpointer wrote."""
        self.resumed = 0
        """How many calls continued from a checkpoint."""
        self._calls = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "Checkpointer":
        self._prepare()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)

    def _prepare(self) -> None:
        """Forget another scope's checkpoints and temporary files a killed writer left."""
        if not self.directory.is_dir():
            return
        scope_file = self.directory / SCOPE_FILE
        if not scope_file.is_file() or scope_file.read_text(errors="replace") != self.scope:
            self.clear()
            return
        for leftover in self.directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the directory and every checkpoint in it (e.g. once the result they lead to is written)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def next_path(self) -> Path:
        """The file of the next `train` call (calls are numbered in the order they start)."""
        with self._lock:
            index, self._calls = self._calls, self._calls + 1
        return self.directory / f"call-{index:04d}.npz"

    def run(self, program, inputs: tuple, segments: np.ndarray, model, static: dict, runs: int):
        """``program(*inputs, segments, model, carry, fresh, **static) -> (carry, records)`` over all ``segments``
        in chunks, resuming from and saving to this call's checkpoint; returns the final carry and all records."""
        path = self.next_path()
        size = self.every_segments
        chunks = [_padded(segments[start:start + size], size) for start in range(0, len(segments), size)]
        start = jnp.asarray(chunks[0])
        described = functools.cache(lambda: _fingerprint(program, inputs, start, model, static, segments, size))
        carry, parts, done = None, [], 0
        if path.exists():
            restored = self._restore(path, described, runs)
            if restored is not None:
                carry, parts, done = restored
                self.resumed += 1
        # A fresh start runs its first chunk from a placeholder carry (the program makes the first carry itself:
        # one compiled program for every chunk); a call of one chunk is the uncheckpointed call itself.
        fresh = np.asarray(carry is None)
        if carry is None and len(chunks) > 1:
            carry = _placeholder(eqx.filter_eval_shape(program, *inputs, start, model, None, init_only=True, **static))
        last_save = time.monotonic()
        for index in range(done, len(chunks)):
            if carry is None:
                carry, records = program(*inputs, jnp.asarray(segments), model, **static)
            else:
                carry, records = program(*inputs, jnp.asarray(chunks[index]), model, carry, fresh, **static)
            fresh = np.asarray(False)
            real = min(size, len(segments) - index * size)  # the padding's records are dropped
            parts.append({name: np.asarray(value)[:, :real] for name, value in records.items()})
            if time.monotonic() - last_save >= self.min_interval_s:
                save(path, described()[0], carry, parts, index + 1, scope=self.scope)
                self.saved += 1
                last_save = time.monotonic()
        return carry, {name: np.concatenate([part[name] for part in parts], axis=1) for name in parts[0]}

    def _restore(self, path: Path, described, runs: int):
        """``(carry, parts, chunks done)`` from ``path``, or None after one line saying why it cannot be used."""
        fingerprint, carry_shapes = described()
        try:
            carry, records, done = load(path, fingerprint, carry_shapes)
        except CheckpointProblem as problem:
            self.on_problem(f"checkpoint {str(path)!r} {problem}; starting this training call over")
            path.unlink(missing_ok=True)
            return None
        return shard_runs(carry, runs), [records], done


class CheckpointProblem(Exception):
    """Why a checkpoint file cannot be used (read after the file's name)."""


def active_checkpointer(checkpoint) -> Checkpointer | None:
    """The checkpointer a `train` call uses: ``checkpoint`` itself, the innermost open one (``None``), or none
    (``False``)."""
    if checkpoint is False:
        return None
    if checkpoint is None:
        return _ACTIVE[-1] if _ACTIVE else None
    if isinstance(checkpoint, Checkpointer):
        return checkpoint
    raise LayerwiseError(f"checkpoint must be a layerwise Checkpointer, None or False; got {type(checkpoint).__name__}")


def _host(leaf) -> np.ndarray:
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):  # typed keys: their raw bits
        leaf = jax.random.key_data(leaf)
    return np.asarray(leaf)


def _hash_arrays(digest, arrays) -> None:
    for array in arrays:
        array = np.ascontiguousarray(_host(array))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())


def _strong(carry):
    """``carry`` without weak types (a chunk's output has none: a weakly typed input would compile a second program)."""
    def strong(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
        return jnp.asarray(leaf, dtype=leaf.dtype)
    return jax.tree_util.tree_map(strong, carry)


def _placeholder(shapes):
    """Zeros of the carry's shapes and (strong) dtypes, made on the host: no compiled program."""
    return jax.tree_util.tree_map(lambda leaf: np.zeros(leaf.shape, leaf.dtype), shapes)


def _constants(closed) -> list:
    """The array constants of a closed jaxpr and of every jaxpr inside it (jit, scan, loop and cond bodies)."""
    found = [const for const in closed.consts if hasattr(const, "dtype")]
    stack = [closed.jaxpr]
    while stack:
        for equation in stack.pop().eqns:
            for value in equation.params.values():
                for item in value if isinstance(value, (tuple, list)) else (value,):
                    if isinstance(item, ClosedJaxpr):
                        found.extend(const for const in item.consts if hasattr(const, "dtype"))
                        stack.append(item.jaxpr)
                    elif isinstance(item, Jaxpr):
                        stack.append(item)
    return found


def _padded(chunk: np.ndarray, size: int) -> np.ndarray:
    """``chunk`` of segments ``(start, stop)`` made ``size`` long with empty segments at its last stop."""
    stop = chunk[-1, 1]
    return np.concatenate([chunk, np.full((size - len(chunk), 2), stop, dtype=chunk.dtype)])


def _fingerprint(program, inputs, first_chunk, model, static, segments, size) -> tuple[str, Any]:
    """The call's fingerprint (hex SHA-256) and the shapes of its carry."""
    traced_init = eqx.filter_make_jaxpr(functools.partial(program, init_only=True, **static))
    init_jaxpr, carry_shapes, _ = traced_init(*inputs, first_chunk, model, None)
    traced_chunk = eqx.filter_make_jaxpr(functools.partial(program, **static))
    carry_shapes = _strong(carry_shapes)
    chunk_jaxpr, _, _ = traced_chunk(*inputs, first_chunk, model, carry_shapes, jax.ShapeDtypeStruct((), bool))
    # Object addresses (in the printed parameters of callbacks) differ between processes; nothing else does.
    text = re.sub(r"0x[0-9a-fA-F]+", "0x", f"{init_jaxpr}\n{chunk_jaxpr}")
    digest = hashlib.sha256(text.encode())
    # Arrays an observable or loss closes over are constants of the jaxpr, printed by name only: hash their values.
    _hash_arrays(digest, _constants(init_jaxpr) + _constants(chunk_jaxpr))
    _hash_arrays(digest, jax.tree_util.tree_leaves(eqx.filter((inputs, model), eqx.is_array)))
    _hash_arrays(digest, [np.asarray(segments)])
    digest.update(json.dumps([FORMAT, size, jax.__version__, jax.default_backend(), jax.local_device_count()]).encode())
    return digest.hexdigest(), carry_shapes


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        _hash_arrays(digest, [arrays[name]])
    return digest.hexdigest()


def save(path, fingerprint: str, carry, parts: list[dict], chunks_done: int, *, scope: str = "") -> None:
    """Write a checkpoint atomically: ``carry`` (any pytree of arrays), the records so far (``parts``, dicts of
    ``(runs, segments, ...)`` arrays joined along segments) and the header (format, fingerprint, chunks done, the
    record names, a checksum of every array)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scope_file = path.parent / SCOPE_FILE
    if not scope_file.exists():
        _write_atomically(scope_file, lambda file: file.write(scope.encode()))
    names = list(parts[0]) if parts else []
    arrays = {f"carry_{i:04d}": _host(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(carry))}
    arrays.update({f"record_{i:04d}": np.concatenate([part[name] for part in parts], axis=1)
                   for i, name in enumerate(names)})
    header = {"format": FORMAT, "fingerprint": fingerprint, "chunks_done": chunks_done, "records": names,
              "checksum": _checksum(arrays)}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    _write_atomically(path, lambda file: np.savez(file, **arrays))


def _write_atomically(path: Path, write: Callable) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path, fingerprint: str, carry_shapes) -> tuple[Any, dict[str, np.ndarray], int]:
    """``(carry, records, chunks done)`` from a checkpoint made for ``fingerprint`` whose carry has the structure,
    shapes and dtypes of ``carry_shapes``; a `CheckpointProblem` when it is damaged or made for another call."""
    try:
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as contents:
            arrays = {name: contents[name] for name in contents.files}
        header = json.loads(arrays.pop("header").tobytes().decode())
        problem = None if isinstance(header, dict) else "has no header"
    except Exception as error:  # noqa: BLE001  (any failure to read is damage: zip, npy, JSON or UTF-8 errors)
        raise CheckpointProblem(f"does not read ({type(error).__name__}: {error})") from None
    if problem is None and header.get("format") != FORMAT:
        problem = f"has format {header.get('format')!r}, not {FORMAT}"
    elif problem is None and header.get("fingerprint") != fingerprint:
        problem = "was made for other inputs or code (its fingerprint differs)"
    elif problem is None and header.get("checksum") != _checksum(arrays):
        problem = "is damaged (its checksum does not match)"
    if problem is not None:
        raise CheckpointProblem(problem)
    expected = jax.tree_util.tree_leaves(carry_shapes)
    leaves = [arrays.get(f"carry_{i:04d}") for i in range(len(expected))]
    if any(leaf is None or leaf.shape != tuple(want.shape) or leaf.dtype != want.dtype
           for leaf, want in zip(leaves, expected)):
        raise CheckpointProblem("does not hold this call's carry (shapes or dtypes differ)")
    carry = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(carry_shapes), [jnp.asarray(x) for x in leaves])
    records = {name: arrays[f"record_{i:04d}"] for i, name in enumerate(header["records"])}
    return carry, records, int(header["chunks_done"])
