"""Minimal grayscale PNG writer/reader (8-bit and 16-bit), zlib + struct only, numpy arrays."""
from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode(img: np.ndarray) -> bytes:
    """img: 2-D uint8 or uint16 -> PNG bytes (color type 0, filter 0 on every row)."""
    img = np.asarray(img)
    if img.ndim != 2 or img.dtype not in (np.uint8, np.uint16):
        raise ValueError("need a 2-D uint8/uint16 array")
    h, w = img.shape
    depth = 8 if img.dtype == np.uint8 else 16
    raw = img.astype(">u2") if depth == 16 else img
    rows = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(raw).view(np.uint8).reshape(h, -1)], 1)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + _chunk(b"IEND", b""))


def write(path: str, img: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(encode(img))


def _unfilter(data: np.ndarray, h: int, stride: int, bpp: int) -> np.ndarray:
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    pos = 0
    for y in range(h):
        ft = data[pos]; line = data[pos + 1:pos + 1 + stride].astype(np.int32); pos += 1 + stride
        cur = np.zeros(stride, np.int32)
        if ft == 0:
            cur = line
        elif ft == 2:
            cur = (line + prev) & 255
        else:
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if ft == 1:
                    p = a
                elif ft == 3:
                    p = (a + b) >> 1
                elif ft == 4:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
                else:
                    raise ValueError("bad PNG filter")
                cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out


def read(path: str) -> np.ndarray:
    """Reads a non-interlaced 8/16-bit grayscale PNG -> uint8/uint16 array."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos = 8; idat = b""; hdr = None
    while pos < len(b):
        (n,) = struct.unpack(">I", b[pos:pos + 4]); tag = b[pos + 4:pos + 8]; data = b[pos + 8:pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", data)
        elif tag == b"IDAT":
            idat += data
        elif tag == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if ctype != 0 or interlace != 0 or depth not in (8, 16):
        raise ValueError("only 8/16-bit grayscale, non-interlaced")
    bpp = depth // 8
    raw = np.frombuffer(zlib.decompress(idat), np.uint8)
    px = _unfilter(raw, h, w * bpp, bpp)
    if depth == 16:
        return px.reshape(h, w, 2).view(">u2").reshape(h, w).astype(np.uint16)
    return px
