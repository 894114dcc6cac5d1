"""triage: classify inspection images (wafer maps, defect-review images) with libtriage from Python.

    import triage
    m = triage.Model("build/models/adc-pcb.trw", threads=2)
    r = m.classify(triage.read_image("site.png", channels=m.in_channels))
    print(r.class_name, r.confidence, r.route, r.review)

The engine is the C library (runtime/triage.h), linked statically into the extension; this module
adds nothing to its decisions. See python/README.md.
"""
from __future__ import annotations

import os as _os

from . import _triage

__all__ = ["Model", "Result", "TriageError", "ImageError", "decode_image", "read_image", "version"]


class TriageError(RuntimeError):
    """A failed C API call. `status`: the C API's status name ("FORMAT", "NOMEM", "SIGNATURE", ...);
    `message`: its message (triage_open_error / triage_last_error)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ImageError(ValueError):
    """A malformed, unsupported or over-cap encoded image (the decoders' one-line reason)."""


_triage._set_error_classes(TriageError, ImageError)

Model = _triage.Model
Result = _triage.Result
version = _triage.version
__version__ = _triage.version()


def decode_image(data, channels=None, pages=None):
    """Decodes an encoded image (PNG, JPEG, TIFF, PGM, NPY, SINF / E142 wafer maps) from memory with
    the `triage` CLI's decoders; with `channels`, applies the CLI's channel rule (colour -> grey by
    Rec. 601 luma, grey -> 3 channels, alpha dropped). Returns (H, W) or (H, W, C) uint8 / uint16."""
    if not isinstance(data, bytes):
        data = bytes(memoryview(data))
    return _triage.decode_image(data, channels, None if pages is None else list(pages))


def read_image(path, channels=None, pages=None):
    """read_image(path) = decode_image(the file's bytes), as `triage run` reads its inputs."""
    return _triage.read_image(_os.fsdecode(path), channels, None if pages is None else list(pages))
