"""Rewrite a zip archive with a few members replaced or removed, copying every other member byte for byte.

Untouched members are copied as their raw local records (header, compressed
data, data descriptor) and their central-directory entries are kept verbatim
except for the offset: same order, same compression, same timestamps, same
bytes. Replaced members are compressed with the method they had. Archives this
fast path does not handle (zip64, data before the first member) go through
:mod:`zipfile` instead: every member's *content* is still the same, recompressed
with its own method.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

__all__ = ["rewrite"]

_EOCD = b"PK\x05\x06"
_CEN = b"PK\x01\x02"
_LOC = b"PK\x03\x04"
_DESC = b"PK\x07\x08"
_CEN_FMT = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOC_FMT = struct.Struct("<4sHHHHHIIIHH")
_EOCD_FMT = struct.Struct("<4sHHHHIIH")


@dataclass
class _Entry:
    name: str
    cen: bytes  # the central-directory record as it is
    flags: int
    method: int
    local_start: int
    local_end: int


class _Unsupported(Exception):
    """The archive needs the slow path."""


def _entries(data: bytes | memoryview) -> tuple[list[_Entry], bytes]:
    raw = bytes(data[-65557:]) if len(data) > 65557 else bytes(data)
    base = len(data) - len(raw)
    at = raw.rfind(_EOCD)
    if at < 0 or len(raw) - at < _EOCD_FMT.size:
        raise _Unsupported
    eocd = raw[at:]
    _sig, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, _clen = _EOCD_FMT.unpack_from(eocd)
    if disk or cd_disk or n_disk != n_total or 0xFFFF in (n_total,) or 0xFFFFFFFF in (cd_size, cd_offset):
        raise _Unsupported
    if cd_offset + cd_size != base + at:
        raise _Unsupported  # something between the members and the directory, or a prefix
    out: list[_Entry] = []
    pos = cd_offset
    for _ in range(n_total):
        fields = _CEN_FMT.unpack_from(data, pos)
        if fields[0] != _CEN:
            raise _Unsupported
        flags, method, csize, usize = fields[3], fields[4], fields[8], fields[9]
        nlen, elen, clen, offset = fields[10], fields[11], fields[12], fields[16]
        if 0xFFFFFFFF in (csize, usize, offset):
            raise _Unsupported
        end = pos + _CEN_FMT.size + nlen + elen + clen
        name_raw = bytes(data[pos + _CEN_FMT.size : pos + _CEN_FMT.size + nlen])
        name = name_raw.decode("utf-8" if flags & 0x800 else "cp437")
        loc = _LOC_FMT.unpack_from(data, offset)
        if loc[0] != _LOC:
            raise _Unsupported
        local_end = offset + _LOC_FMT.size + loc[9] + loc[10] + csize
        if flags & 0x08:
            local_end += 16 if bytes(data[local_end : local_end + 4]) == _DESC else 12
        out.append(_Entry(name, bytes(data[pos:end]), flags, method, offset, local_end))
        pos = end
    return out, bytes(eocd)


def _compress(data: bytes, method: int) -> bytes:
    if method == zipfile.ZIP_STORED:
        return data
    if method == zipfile.ZIP_DEFLATED:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()
    raise _Unsupported


def rewrite(source: bytes, out: IO[bytes], replace: Mapping[str, bytes], remove: frozenset[str] = frozenset()) -> None:
    """Write ``source`` (a zip) to ``out`` with members in ``replace`` swapped and those in ``remove`` left out."""
    try:
        if set(replace) - set(zipfile.ZipFile(io.BytesIO(source)).namelist()):
            raise _Unsupported  # new members (a tab created): zipfile writes the whole archive
        _rewrite_raw(source, out, replace, remove)
    except _Unsupported:
        out.seek(0)
        out.truncate()
        _rewrite_zipfile(source, out, replace, remove)


def _rewrite_raw(source: bytes, out: IO[bytes], replace: Mapping[str, bytes], remove: frozenset[str]) -> None:
    view = memoryview(source)
    entries, eocd = _entries(view)
    directory: list[bytes] = []
    offset = 0
    for entry in entries:
        if entry.name in remove:
            continue
        if entry.name not in replace:
            out.write(view[entry.local_start : entry.local_end])
            cen = bytearray(entry.cen)
            struct.pack_into("<I", cen, 42, offset)
            directory.append(bytes(cen))
            offset += entry.local_end - entry.local_start
            continue
        content = replace[entry.name]
        packed = _compress(content, entry.method)
        crc = zlib.crc32(content)
        cen_fields = list(_CEN_FMT.unpack_from(entry.cen))
        flags = entry.flags & ~0x08  # sizes are known: no data descriptor
        name = entry.cen[_CEN_FMT.size : _CEN_FMT.size + cen_fields[10]]
        local = _LOC_FMT.pack(
            _LOC,
            max(20, cen_fields[2]),
            flags,
            entry.method,
            cen_fields[5],
            cen_fields[6],
            crc,
            len(packed),
            len(content),
            len(name),
            0,
        )
        out.write(local + name)
        out.write(packed)
        cen_fields[3], cen_fields[7], cen_fields[8], cen_fields[9], cen_fields[16] = (
            flags,
            crc,
            len(packed),
            len(content),
            offset,
        )
        directory.append(_CEN_FMT.pack(*cen_fields) + entry.cen[_CEN_FMT.size :])
        offset += len(local) + len(name) + len(packed)
    cd = b"".join(directory)
    out.write(cd)
    fields = list(_EOCD_FMT.unpack_from(eocd))
    fields[3] = fields[4] = len(directory)
    fields[5], fields[6] = len(cd), offset
    out.write(_EOCD_FMT.pack(*fields) + eocd[_EOCD_FMT.size :])


def _rewrite_zipfile(source: bytes, out: IO[bytes], replace: Mapping[str, bytes], remove: frozenset[str]) -> None:
    import io

    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in remove:
                continue
            data = replace.get(info.filename)
            dst.writestr(info, data if data is not None else src.read(info), compress_type=info.compress_type)
        for name in sorted(set(replace) - set(src.namelist())):
            dst.writestr(name, replace[name], compress_type=zipfile.ZIP_DEFLATED)
