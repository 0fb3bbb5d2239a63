"""Reading and writing ``.npz`` files without pickle and without timestamps.

``numpy.savez`` stamps each member with the current time, so two runs differ by a
few bytes; answers must be byte-for-byte reproducible, hence this writer. The
reader refuses pickled (object) arrays and files over a size limit, because the
files the grader reads back from student processes are untrusted.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

_EPOCH = (1980, 1, 1, 0, 0, 0)
MAX_NPZ_BYTES = 128 * 1024 * 1024


def dumps(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Serialise arrays to npz bytes; members sorted by name, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype.hasobject:
                raise TypeError(f"{name}: object arrays cannot be stored")
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def save(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write atomically (a reader never sees a half-written file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(dumps(arrays))
    os.replace(tmp, path)


def loads(data: bytes, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """Load npz bytes as plain numpy arrays (no pickle); raise ValueError if unsafe."""
    if len(data) > max_bytes:
        raise ValueError(f"output file too large ({len(data)} bytes)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
        if total > 4 * max_bytes:
            raise ValueError(f"output expands to {total} bytes")
        result = {}
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for name in npz.files:
                array = npz[name]
                if type(array) is not np.ndarray or array.dtype.hasobject:
                    raise ValueError(f"{name}: not a plain array")
                result[name] = array
        return result
    except ValueError:
        raise
    except Exception as error:  # corrupt zip, bad header, pickle refused, ...
        raise ValueError(f"unreadable output file: {type(error).__name__}: {error}") from None


def load(path: Path, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"output file too large ({size} bytes)")
    return loads(path.read_bytes(), max_bytes)


def json_array(value) -> np.ndarray:
    """A JSON document stored as a 0-d unicode array (loads without pickle)."""
    return np.array(json.dumps(value, sort_keys=True))


def from_json_array(array: np.ndarray):
    if array.dtype.kind != "U" or array.ndim != 0:
        raise ValueError("metadata is not a JSON string")
    text = str(array[()])
    if len(text) > 1_000_000:
        raise ValueError("metadata too large")
    return json.loads(text)
