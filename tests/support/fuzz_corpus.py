"""A corpus of hostile and odd inputs, built at test time (no binary blobs in the repository).

Each `Case` names a file and what a user may expect from it:
``"ok"``    a valid image the app must classify,
``"error"`` something that must be refused with a typed `UserError`,
``"any"``   either is acceptable (damaged bytes that may still decode, formats outside the list).
Whatever the expectation: no uncaught exception, bounded time, bounded memory, bytes unchanged.

Also holds the probes the fuzz tests share: a per-call watchdog, the peak RSS of a call, and
file fingerprints. Run `python -m tests.support.fuzz_corpus OUT_DIR` to build the corpus for a look.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import stat
import struct
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.dicom_codecs import (
    gdcm_compressed_bytes,
    jpeg_12bit_codestream,
    jpegls_codestream,
)

OK, ERROR, ANY = "ok", "error", "any"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
BOMB_SIDE = 30000  # declared width and height of the decompression bombs (never allocated)


@dataclass(frozen=True)
class Case:
    family: str
    path: Path
    expect: str
    note: str = ""


@dataclass
class Corpus:
    root: Path
    cases: list[Case] = field(default_factory=list)
    dropped: Path | None = None  # a folder of hazards (link loops, a FIFO, unreadable files, ...)

    def add(self, family: str, name: str, data: bytes, expect: str, note: str = "") -> Path:
        folder = self.root / family
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        self.cases.append(Case(family, path, expect, note))
        return path

    def by_family(self) -> dict[str, list[Case]]:
        out: dict[str, list[Case]] = {}
        for case in self.cases:
            out.setdefault(case.family, []).append(case)
        return out


# --- image bytes -----------------------------------------------------------------------------


def xray_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A gray uint8 picture with a chest-like bright middle and noise (content is irrelevant)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    cx, cy = width / 2, height / 2
    body = np.exp(-(((xx - cx) / (0.35 * width + 1)) ** 2 + ((yy - cy) / (0.45 * height + 1)) ** 2))
    img = 40 + 170 * body + rng.normal(0, 12, size=(height, width))
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def gray(width: int = 320, height: int = 256, seed: int = 0) -> Image.Image:
    return Image.fromarray(xray_like(width, height, seed), "L")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
        ">I", zlib.crc32(kind + payload) & 0xFFFFFFFF
    )


def png_declaring(width: int, height: int, idat: bytes, bit_depth: int = 8, color: int = 0
                  ) -> bytes:
    """A PNG whose IHDR claims width x height, with the given (small) compressed data."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def zlib_bomb_png(side: int) -> bytes:
    """A real zlib bomb: side x side gray pixels of zeros, a few hundred KB on disk."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    chunks = [comp.compress(row) for _ in range(side)]
    return png_declaring(side, side, b"".join(chunks) + comp.flush())


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose SOF marker is patched to claim width x height."""
    data = bytearray(encode(gray(64, 64), "JPEG", quality=80))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at > 0:
            # FFC0, length(2), precision(1), height(2), width(2)
            data[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise AssertionError("no SOF marker in the JPEG the corpus just wrote")


def bmp_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(gray(8, 8), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def tiff_declaring(width: int, height: int) -> bytes:
    """An uncompressed TIFF whose ImageWidth/ImageLength tags are patched."""
    data = bytearray(encode(gray(16, 16), "TIFF"))
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, typ = struct.unpack("<HH", data[at : at + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            if typ == 3:
                data[at + 8 : at + 12] = struct.pack("<HH", value if value < 65536 else 65535, 0)
            else:
                data[at + 8 : at + 12] = struct.pack("<I", value)
    return bytes(data)


# --- DICOM bytes -----------------------------------------------------------------------------


def dicom_bytes(
    pixels: np.ndarray | None,
    *,
    photometric: str = "MONOCHROME2",
    transfer_syntax: str | None = None,
    preamble: bool = True,
    extra: dict | None = None,
    pixel_data: bytes | None = None,
    rows_cols: tuple[int, int] | None = None,
    raw_encoding: tuple[bool, bool] | None = None,
    malformed: dict[int, tuple[str, bytes]] | None = None,
) -> bytes:
    """A small DICOM file (secondary capture). `pixel_data` overrides the encoded pixels.

    `raw_encoding` = (implicit VR, little endian): a bare dataset in that encoding, without
    preamble and file meta, as older archives export them. `malformed` = {tag: (VR, raw bytes)}:
    values written as given, past pydicom's checks (NumberOfFrames "1A")."""
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.tag import Tag
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    uid = generate_uid(entropy_srcs=[photometric, str(transfer_syntax), str(extra)])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid
    ds.Modality = "CR"
    ds.PatientName = "Fuzz^Corpus"
    if pixels is not None or pixel_data is not None:
        arr = pixels if pixels is not None else np.zeros((8, 8), np.uint16)
        rows, cols = rows_cols or arr.shape[-2:]
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        bits = arr.dtype.itemsize * 8
        ds.BitsAllocated = bits
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
        ds.PixelData = pixel_data if pixel_data is not None else arr.tobytes()
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    implicit, little = raw_encoding or (False, True)
    for tag, (vr, value) in (malformed or {}).items():
        ds[tag] = RawDataElement(Tag(tag), vr, len(value), value, 0, implicit, little)
    buf = io.BytesIO()
    if raw_encoding is not None:
        del ds.file_meta
        if not little and "PixelData" in ds and pixel_data is None:
            ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        ds.save_as(buf, implicit_vr=implicit, little_endian=little)
    elif preamble:
        ts_private = meta.TransferSyntaxUID.is_private
        private = {"implicit_vr": False, "little_endian": True}  # pydicom can't guess these
        ds.save_as(buf, enforce_file_format=True, **(private if ts_private else {}))
    else:
        ds.save_as(buf, implicit_vr=False, little_endian=True)
    return buf.getvalue()


def dicom_16bit(seed: int = 0, side: int = 128) -> np.ndarray:
    return xray_like(side, side, seed).astype(np.uint16) * 16  # 12-bit range


# --- damage ----------------------------------------------------------------------------------


def bit_flipped(data: bytes, seed: int) -> bytes:
    """Flip 1 to 64 random bits (seeded), anywhere in the file, headers included."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.choice([1, 2, 4, 8, 16, 64])):
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


TRUNCATIONS = [1, 8, 16, 64, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, -1, -16]


def truncated(data: bytes, where: float | int) -> bytes:
    if isinstance(where, float):
        return data[: int(len(data) * where)]
    return data[:where] if where > 0 else data[:where]


# --- the corpus ------------------------------------------------------------------------------


def damaged_family(corpus: Corpus, label: str, suffix: str, data: bytes, flips: int) -> None:
    corpus.add("valid_" + label, "intact" + suffix, data, OK)
    for where in TRUNCATIONS:
        corpus.add("truncated_" + label, f"cut_{where}{suffix}", truncated(data, where), ANY)
    for seed in range(flips):
        corpus.add("bitflip_" + label, f"flip_{seed:02d}{suffix}", bit_flipped(data, seed), ANY)


def add_damaged(corpus: Corpus, flips: int = 24) -> None:
    photo = gray(400, 320, seed=1)
    damaged_family(corpus, "jpeg", ".jpg", encode(photo, "JPEG", quality=85), flips)
    damaged_family(corpus, "png", ".png", encode(photo, "PNG"), flips)
    damaged_family(corpus, "tiff", ".tif", encode(photo, "TIFF", compression="tiff_lzw"), flips)
    damaged_family(corpus, "dicom", ".dcm", dicom_bytes(dicom_16bit(2)), flips)
    for syntax in ("JPEGLosslessProcess14_1", "JPEGLSLossless", "JPEG2000Lossless"):
        packed = gdcm_compressed_bytes(dicom_bytes(dicom_16bit(2)), syntax)
        damaged_family(corpus, f"dicom_{syntax}", ".dcm", packed, flips)


def add_empty_and_foreign(corpus: Corpus) -> None:
    for suffix in [".png", ".jpg", ".jpeg", ".tif", ".bmp", ".dcm", ""]:
        corpus.add("zero_byte", f"empty{suffix or '_no_suffix'}", b"", ERROR)
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
        b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    foreign = {
        "report.png": b"Patient report: please see attached X-ray.\n" * 20,
        "scan.pdf.png": pdf,
        "page.jpg": b"<!DOCTYPE html><html><body><img src='x.png'></body></html>",
        "archive.png": b"PK\x03\x04" + bytes(200),
        "program.dcm": b"\x7fELF" + bytes(300),
        "noise.jpg": np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "only_magic.png": b"\x89PNG\r\n\x1a\n",
        "only_soi.jpg": b"\xff\xd8\xff",
        "only_dicm.dcm": bytes(128) + b"DICM",
        "preamble_garbage": bytes(128) + b"DICM" + b"\xff" * 64,
        "utf16.tif": "II* not a tiff".encode("utf-16"),
    }
    for name, data in foreign.items():
        corpus.add("foreign", name, data, ERROR)


def add_wrong_extension(corpus: Corpus) -> None:
    photo = gray(300, 240, seed=4)
    corpus.add("wrong_ext", "png_named.jpg", encode(photo, "PNG"), OK)
    corpus.add("wrong_ext", "jpeg_named.png", encode(photo, "JPEG"), OK)
    corpus.add("wrong_ext", "tiff_named.jpg", encode(photo, "TIFF"), OK)
    corpus.add("wrong_ext", "bmp_named.tif", encode(photo, "BMP"), OK)
    corpus.add("wrong_ext", "jpeg_named.dcm", encode(photo, "JPEG"), ANY)
    corpus.add("wrong_ext", "dicom_named.png", dicom_bytes(dicom_16bit(5)), ANY)
    corpus.add("wrong_ext", "jpeg_named.txt", encode(photo, "JPEG"), ANY)
    corpus.add("wrong_ext", "png_no_suffix", encode(photo, "PNG"), ANY)
    corpus.add("wrong_ext", "dicom_no_suffix", dicom_bytes(dicom_16bit(6)), OK)


def add_shapes_and_modes(corpus: Corpus) -> None:
    base = gray(300, 260, seed=7)
    rgb = Image.merge("RGB", [base, base.point(lambda v: v // 2), base])
    add = corpus.add
    add("shape", "one_by_one.png", encode(gray(1, 1), "PNG"), OK)
    add("shape", "one_by_one.jpg", encode(gray(1, 1), "JPEG"), OK)
    add("shape", "1x10000.png", encode(gray(1, 10000), "PNG"), OK)
    add("shape", "10000x1.png", encode(gray(10000, 1), "PNG"), OK)
    add("shape", "2x3.bmp", encode(gray(2, 3), "BMP"), OK)
    add("shape", "uniform_black.png", encode(Image.new("L", (256, 256), 0), "PNG"), OK)
    add("shape", "uniform_white.jpg", encode(Image.new("L", (256, 256), 255), "JPEG"), OK)
    add("mode", "cmyk.jpg", encode(rgb.convert("CMYK"), "JPEG"), OK)
    add("mode", "cmyk.tif", encode(rgb.convert("CMYK"), "TIFF"), OK)
    add("mode", "palette.png", encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), OK)
    pal_t = rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    add("mode", "palette_transparent.png", encode(pal_t, "PNG", transparency=0), OK)
    add("mode", "palette.bmp", encode(rgb.convert("P"), "BMP"), OK)
    add("mode", "one_bit.png", encode(base.convert("1"), "PNG"), OK)
    add("mode", "one_bit_g4.tif", encode(base.convert("1"), "TIFF", compression="group4"), OK)
    add("mode", "one_bit.bmp", encode(base.convert("1"), "BMP"), OK)
    wide = (np.asarray(base, np.uint16) * 257).astype(np.uint16)
    add("mode", "gray16.png", encode(Image.fromarray(wide), "PNG"), OK)
    add("mode", "gray16.tif", encode(Image.fromarray(wide), "TIFF"), OK)
    add("mode", "gray12_in_16.png", encode(Image.fromarray(wide >> 4), "PNG"), OK)
    add("mode", "int32.tif", encode(Image.fromarray(wide.astype(np.int32)), "TIFF"), OK)
    floats = Image.fromarray(wide.astype(np.float32) / 65535)
    add("mode", "float32.tif", encode(floats, "TIFF"), ANY)
    add("mode", "rgba.png", encode(rgb.convert("RGBA"), "PNG"), OK)
    add("mode", "gray_alpha.png", encode(base.convert("LA"), "PNG"), OK)
    add("mode", "rgb.tif", encode(rgb, "TIFF", compression="tiff_deflate"), OK)
    add("mode", "progressive.jpg", encode(rgb, "JPEG", progressive=True), OK)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    add("mode", "exif_rotated.jpg", encode(gray(320, 200), "JPEG", exif=exif.tobytes()), OK)
    bad_exif = Image.Exif()
    bad_exif[0x0112] = 77  # not an orientation
    add("mode", "exif_bogus_orientation.jpg", encode(base, "JPEG", exif=bad_exif.tobytes()), OK)
    add("mode", "rle.bmp", encode(rgb.convert("P"), "BMP"), OK)
    frames = [gray(120, 100, seed=s) for s in range(4)]
    add("mode", "animated.gif", encode_frames(frames, "GIF", duration=50, loop=0), ANY)
    add("mode", "animated_named.png", encode_frames(frames, "GIF", duration=50), ANY)
    add("mode", "multipage.tif", encode_frames(frames, "TIFF"), OK)
    add("mode", "webp_named.png", encode(rgb, "WEBP"), ANY)
    add("mode", "ico_named.png", encode(rgb.resize((32, 32)), "ICO"), ANY)


def encode_frames(frames: list[Image.Image], fmt: str, **params) -> bytes:
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], **params)


def add_bombs(corpus: Corpus) -> None:
    """Files that declare 30000 x 30000 pixels; a reader that believes them needs ~1-3 GB."""
    tiny_idat = zlib.compress(b"\x00" * 64)
    add = corpus.add
    s = BOMB_SIDE
    add("bomb", "ihdr_30000.png", png_declaring(s, s, tiny_idat), ERROR, "IHDR claims 900 MP")
    add("bomb", "ihdr_30000_rgb16.png", png_declaring(s, s, tiny_idat, 16, 2), ERROR)
    add("bomb", "ihdr_30000_x_1.png", png_declaring(s * 1000, 1, tiny_idat), ERROR)
    add("bomb", "zlib_20000.png", zlib_bomb_png(20000), ERROR, "400 MP of real zeros, ~400 KB")
    add("bomb", "sof_30000.jpg", jpeg_declaring(s, s), ERROR, "SOF claims 900 MP")
    add("bomb", "sof_65535.jpg", jpeg_declaring(65535, 65535), ERROR)
    add("bomb", "header_30000.bmp", bmp_declaring(s, s), ERROR)
    add("bomb", "header_30000.tif", tiff_declaring(s, s), ERROR)
    header_only = np.zeros((8, 8), np.uint16)
    add(
        "bomb",
        "rows_30000.dcm",
        dicom_bytes(header_only, rows_cols=(s, s), pixel_data=header_only.tobytes()),
        ERROR,
        "Rows/Columns claim 900 MP, 128 bytes of pixels",
    )


def psd_with_layer(bbox: tuple[int, int, int, int], side: int = 16) -> bytes:
    """A grey 8-bit PSD of ``side`` x ``side`` with one layer whose box (top, left, bottom,
    right) is ``bbox``: a box with right < left makes Pillow's layer parser raise
    ``ValueError("negative tile size")``."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 1, side, side, 8, 1)
    layer = struct.pack(">iiiiH", *bbox, 1) + struct.pack(">hI", 0, 2 + side * side)
    layer += b"8BIMnorm" + bytes([255, 0, 0, 0]) + struct.pack(">I", 0)
    layer_info = struct.pack(">h", 1) + layer + struct.pack(">H", 0) + bytes(side * side)
    layers = struct.pack(">I", len(layer_info)) + layer_info
    pixels = struct.pack(">H", 0) + bytes(range(side)) * side
    return header + struct.pack(">II", 0, 0) + struct.pack(">I", len(layers)) + layers + pixels


def icns_holding(png: bytes, kind: bytes = b"icp4") -> bytes:
    """A Mac icon file whose one icon (``icp4``: 16 x 16) is ``png``, whatever size it says."""
    entry = kind + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


def add_decoder_failures(corpus: Corpus) -> None:
    """Files a decoder's own parser trips on after the header was accepted, and sizes declared
    inside a container that the container's header does not show."""
    tiny_idat = zlib.compress(b"\x00" * 64)
    add = corpus.add
    add("decoder", "negative_tile.psd", psd_with_layer((0, 12, 8, 2)), ERROR,
        "a layer box with right < left: Pillow raises ValueError('negative tile size')")
    add("decoder", "negative_height.psd", psd_with_layer((9, 0, 1, 8)), ERROR,
        "a layer box with bottom < top")
    add("decoder", "huge_layer.psd", psd_with_layer((0, 0, 2**31 - 1, 2**31 - 1)), ANY,
        "a layer box of 2^31 x 2^31")
    add("decoder", "inner_png_30000.icns", icns_holding(png_declaring(
        BOMB_SIDE, BOMB_SIDE, tiny_idat)), ERROR, "a 16 x 16 icon whose PNG claims 900 MP")
    add("decoder", "inner_png_overflow.icns", icns_holding(png_declaring(
        2**31 - 1, 2**31 - 1, tiny_idat), b"ic10"), ERROR,
        "an icon whose PNG claims 2^31 x 2^31 pixels")


def add_dicom_variants(corpus: Corpus) -> None:
    from pydicom.encaps import encapsulate
    from pydicom.uid import (
        DeflatedExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGLSLossless,
    )

    px = dicom_16bit(8)
    add = corpus.add
    add("dicom", "mono2_16bit.dcm", dicom_bytes(px), OK)
    add("dicom", "mono1_16bit.dcm", dicom_bytes(px, photometric="MONOCHROME1"), OK)
    add("dicom", "mono2_8bit.dcm", dicom_bytes((px >> 4).astype(np.uint8)), OK)
    signed = (px.astype(np.int16) - 2048).astype(np.int16)
    add("dicom", "signed_rescaled.dcm", dicom_bytes(signed, extra={"RescaleSlope": "1.5",
                                                                   "RescaleIntercept": "-100"}), OK)
    add("dicom", "windowed.dcm", dicom_bytes(px, extra={"WindowCenter": "2048",
                                                        "WindowWidth": "4096"}), OK)
    add("dicom", "window_width_zero.dcm", dicom_bytes(px, extra={"WindowCenter": "100",
                                                                 "WindowWidth": "0"}), OK,
        "a display setting: the full range is shown instead")
    add("dicom", "rescale_slope_zero.dcm", dicom_bytes(px, extra={"RescaleSlope": "0"}), OK)
    add("dicom", "uniform.dcm", dicom_bytes(np.full((64, 64), 1000, np.uint16)), OK)
    add("dicom", "no_preamble.dcm", dicom_bytes(px, preamble=False), OK)
    add("dicom", "no_preamble_no_suffix", dicom_bytes(px, preamble=False), OK)
    add("dicom", "implicit_vr.dcm", dicom_bytes(px, transfer_syntax=ImplicitVRLittleEndian), OK)
    add("dicom", "deflated.dcm", dicom_bytes(px, transfer_syntax=DeflatedExplicitVRLittleEndian),
        ANY)
    add("dicom", "no_pixel_data.dcm", dicom_bytes(None), ERROR, "a report/SR-like object")
    add("dicom", "no_pixel_data_no_suffix", dicom_bytes(None), ERROR)
    add("dicom", "short_pixel_data.dcm", dicom_bytes(px, pixel_data=px.tobytes()[:1000]), ERROR)
    add("dicom", "zero_rows.dcm", dicom_bytes(px, rows_cols=(0, 128)), ERROR)
    add("dicom", "rgb_claimed_gray_data.dcm",
        dicom_bytes(px, photometric="RGB", extra={"SamplesPerPixel": 3}), ANY)
    add("dicom", "bogus_photometric.dcm", dicom_bytes(px, photometric="PALETTE COLOR"), ANY)
    add("dicom", "bits_stored_too_big.dcm", dicom_bytes(px, extra={"BitsStored": 24}), ANY)
    frames = np.stack([px, px // 2, px // 3])
    add("dicom", "multiframe.dcm",
        dicom_bytes(frames, extra={"NumberOfFrames": 3}), ANY)
    garbage = encapsulate([b"\xff\x4f\xff\x51" + bytes(200)])
    add("dicom", "jpeg2000_garbage.dcm",
        dicom_bytes(px, transfer_syntax=JPEG2000Lossless, pixel_data=garbage), ERROR)
    jpegls = encapsulate([b"\xff\xd8\xff\xf7" + bytes(400)])
    add("dicom", "jpegls_garbage.dcm",
        dicom_bytes(px, transfer_syntax=JPEGLSLossless, pixel_data=jpegls), ERROR,
        "a JPEG-LS codestream of zeros")
    add("dicom", "unknown_transfer_syntax.dcm",
        dicom_bytes(px, transfer_syntax="1.2.3.4.5.6.7"), ERROR)
    add_archive_exports(corpus, px)


def add_archive_exports(corpus: Corpus, px: np.ndarray) -> None:
    """DICOM as older archives and odd devices write it (issue 12): no preamble and no file meta,
    12-bit JPEG, windows and tags that are malformed but not needed for the pixels."""
    from pydicom.dataset import Dataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGExtended12Bit, JPEGLSLossless

    add = corpus.add
    raw = [("raw_implicit_vr", (True, True)), ("raw_explicit_vr.bin", (False, True)),
           ("raw_explicit_big_endian.dcm", (False, False))]
    for name, encoding in raw:
        add("dicom_export", name, dicom_bytes(px, raw_encoding=encoding), OK,
            "no preamble, no file meta")
    add("dicom_export", "raw_no_pixels", dicom_bytes(None, raw_encoding=(True, True)), ERROR)
    twelve = encapsulate([jpeg_12bit_codestream(px)])
    add("dicom_export", "jpeg_extended_12bit.dcm", dicom_bytes(
        px, transfer_syntax=JPEGExtended12Bit, pixel_data=twelve,
        extra={"BitsStored": 12, "HighBit": 11}), OK, "decoded by imagecodecs")
    seven = (px >> 5).astype(np.uint8)
    add("dicom_export", "jpegls_7bit.dcm", dicom_bytes(
        seven, transfer_syntax=JPEGLSLossless, pixel_data=encapsulate([jpegls_codestream(seven)]),
        extra={"BitsStored": 7, "HighBit": 6}), OK, "BitsStored 7, which GDCM refuses")
    bad_lut = Dataset()
    bad_lut.LUTDescriptor = [256, 0, 16]
    bad_lut.add_new(0x00283006, "US", [1, 2, 3])  # LUTData: 3 entries where 256 are declared
    add("dicom_export", "voi_lut_rejected.dcm",
        dicom_bytes(px, extra={"VOILUTSequence": [bad_lut]}), OK, "pydicom cannot apply it")
    malformed = {
        "number_of_frames_1A.dcm": {0x00280008: ("IS", b"1A")},
        "window_center_not_a_number.dcm": {0x00281050: ("DS", b"12A4"),
                                           0x00281051: ("DS", b"400 ")},
        "patient_age_broken.dcm": {0x00101010: ("AS", b"ABCD"), 0x00100040: ("CS", b"?!")},
        "study_date_broken.dcm": {0x00080020: ("DA", b"2024-13-45"),
                                  0x00280030: ("DS", b"a\\b ")},
        "bits_stored_not_a_number.dcm": {0x00280101: ("CS", b"XX")},  # a wrong VR
    }
    for name, values in malformed.items():
        expect = ANY if "bits_stored" in name else OK
        add("dicom_export", name, dicom_bytes(px, malformed=values), expect,
            "a malformed tag the pixels do not need" if expect == OK else "a needed tag, broken")


def add_odd_names(corpus: Corpus) -> None:
    data = encode(gray(200, 180, seed=9), "PNG")
    names = [
        "with space.png",
        "  leading and trailing spaces  .png",
        "ünïcødé_Ω_胸部.png",
        "emoji_🫁.png",
        "line\nbreak.png",
        "tab\there.png",
        "{braces} and [brackets].png",
        "-looks-like-an-option.png",
        ".hidden.png",
        "quote'\"mix.png",
        "back\\slash.png",
        "UPPER.PNG",
        "x" * 240 + ".png",
    ]
    for name in names:
        corpus.add("names", name, data, OK)
    if sys.platform.startswith("linux"):
        corpus.add("names", os.fsdecode(b"latin1_\xe9\xff.png"), data, OK, "not valid UTF-8")


def build_dropped_folder(corpus: Corpus) -> Path:
    """A folder a user might drop: a few good files among link loops, pipes and locked files."""
    root = corpus.root / "dropped"
    sub = root / "sub" / "deeper"
    sub.mkdir(parents=True)
    good = encode(gray(256, 256, seed=11), "PNG")

    def case(path: Path, expect: str, note: str = "") -> None:
        corpus.cases.append(Case("dropped", path, expect, note))

    for i, folder in enumerate([root, root / "sub", sub]):
        p = folder / f"good_{i}.png"
        p.write_bytes(good)
        case(p, OK)
    os.symlink(".", root / "loop_to_self")
    os.symlink("..", sub / "loop_to_parent")
    os.symlink(str(root), root / "sub" / "loop_absolute")
    self_link = root / "self_loop.png"
    os.symlink(self_link.name, self_link)
    case(self_link, ERROR, "symlink pointing at itself")
    ping, pong = root / "ping.jpg", root / "pong.jpg"
    os.symlink(pong.name, ping)
    os.symlink(ping.name, pong)
    case(ping, ERROR, "two symlinks pointing at each other")
    dangling = root / "dangling.png"
    os.symlink("no_such_file.png", dangling)
    case(dangling, ERROR)
    link_to_good = root / "link_to_good.png"
    os.symlink("good_0.png", link_to_good)
    case(link_to_good, OK)
    if Path("/dev/zero").exists():
        z = root / "endless_zeros.png"
        os.symlink("/dev/zero", z)
        case(z, ERROR, "a device: an unbounded read")
        r = root / "endless_random.jpg"
        os.symlink("/dev/urandom", r)
        case(r, ERROR, "a device: an unbounded read")
    if hasattr(os, "mkfifo"):
        fifo = root / "named_pipe.png"
        os.mkfifo(fifo)
        case(fifo, ERROR, "a FIFO: open() blocks forever without a writer")
        bare_fifo = root / "named_pipe"
        os.mkfifo(bare_fifo)
        case(bare_fifo, ERROR, "a FIFO with no suffix: sniffed for a DICOM preamble")
    folder_png = root / "folder.png"
    folder_png.mkdir()
    (folder_png / "inside.png").write_bytes(good)
    case(folder_png, ERROR, "a folder with an image suffix")
    locked = root / "unreadable.png"
    locked.write_bytes(good)
    locked.chmod(0)
    # As root, chmod 000 does not stop reads: then the file is simply read.
    case(locked, OK if IS_ROOT else ERROR, "chmod 000" + (" (root reads it anyway)" * IS_ROOT))
    locked_dir = root / "unreadable_dir"
    locked_dir.mkdir()
    (locked_dir / "hidden_good.png").write_bytes(good)
    locked_dir.chmod(0)
    (root / "empty.png").write_bytes(b"")
    case(root / "empty.png", ERROR)
    (root / "notes.txt").write_text("not an image, and no image suffix")
    corpus.dropped = root
    return root


def unlock(corpus: Corpus) -> None:
    """Give back the permissions the dropped folder took away, so tmp folders can be removed."""
    if corpus.dropped is None:
        return
    for path in [corpus.dropped / "unreadable.png", corpus.dropped / "unreadable_dir"]:
        if path.exists() or path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def release_fifos(root: Path) -> None:
    """Open every FIFO for writing once, so a reader stuck in open() on it wakes up."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode):
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass


@contextmanager
def corpus_at(root: Path):
    """The corpus, built under root, with its locks and pipes released afterwards."""
    built = build_corpus(root)
    try:
        yield built
    finally:
        release_fifos(root)
        unlock(built)


def build_corpus(root: Path, *, dropped: bool = True) -> Corpus:
    """Write the whole corpus under `root` (which must not exist or be empty)."""
    root.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(root)
    add_damaged(corpus)
    add_empty_and_foreign(corpus)
    add_wrong_extension(corpus)
    add_shapes_and_modes(corpus)
    add_bombs(corpus)
    add_decoder_failures(corpus)
    add_dicom_variants(corpus)
    add_odd_names(corpus)
    if dropped:
        build_dropped_folder(corpus)
    return corpus


# --- probes ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    finished: bool
    seconds: float
    result: object = None
    exception: BaseException | None = None


def run_with_watchdog(fn, timeout: float) -> Outcome:
    """Run fn() on a daemon thread; give up waiting after `timeout` s (a hang, not a crash)."""
    box: dict = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - the probe reports whatever escaped
            box["exception"] = exc

    start = time.perf_counter()
    worker = threading.Thread(target=target, daemon=True, name="fuzz-watchdog")
    worker.start()
    worker.join(timeout)
    seconds = time.perf_counter() - start
    return Outcome(not worker.is_alive(), seconds, box.get("result"), box.get("exception"))


def _status_kib(field_name: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field_name}:\s+(\d+)", text, re.M).group(1))


def peak_rss_supported() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmHWM") > 0
    except OSError:
        return False


def reset_peak_rss() -> int:
    """Reset the kernel's high-water mark of this process's RSS; returns RSS now (bytes)."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def peak_rss() -> int:
    return _status_kib("VmHWM") * 1024


def fingerprint(paths) -> dict[str, tuple]:
    """sha256, size and mtime of every regular file (links followed where they resolve)."""
    out = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        out[str(path)] = (digest, st.st_size, st.st_mtime_ns)
    return out


def tree_listing(root: Path) -> set[str]:
    """Every entry under root (links not followed): a reader must not leave files behind."""
    out = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            out.add(os.path.join(folder, name))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz_corpus_out")
    built = build_corpus(target)
    for family, cases in sorted(built.by_family().items()):
        print(f"{family:18s} {len(cases):4d}")
    print(f"{'total':18s} {len(built.cases):4d}  in {target}")
    unlock(built)
