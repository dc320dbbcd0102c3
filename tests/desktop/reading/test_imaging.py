"""The reader: every supported kind of file comes out as the upright, dark-lunged gray 224x224
image the model was trained on; every bad file gives a typed error with a sentence to act on."""

import hashlib
import io
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from desktop.errors import (
    DicomCompressionError,
    DicomNoPixelDataError,
    EmptyFileError,
    FilePermissionError,
    ImageTooLargeError,
    NoSuchFileError,
    NotAnImageError,
    ReadError,
)
from desktop.reading import imaging
from desktop.reading.imaging import load_model_input, read_image
from tests.conftest import SHARED_DATA, require_shared
from tests.support import fuzz_corpus
from tests.support.dicom_codecs import gdcm_compress
from tests.support.fuzz_corpus import dicom_bytes

# --- helpers: a synthetic "chest": bright body, two dark lungs --------------------------------


def chest(h=240, w=200, body=200, lung=40, dtype=np.uint8):
    """Bright frame with two dark rectangles (lungs) in the middle rows."""
    arr = np.full((h, w), body, dtype=dtype)
    arr[h // 4 : 3 * h // 4, w // 8 : 3 * w // 8] = lung
    arr[h // 4 : 3 * h // 4, 5 * w // 8 : 7 * w // 8] = lung
    return arr


def lungs_dark(model_input):
    """Mean of the lung regions is clearly below the mean of the body border."""
    m = model_input.astype(float)
    lungs = np.concatenate([m[80:140, 40:70].ravel(), m[80:140, 150:180].ravel()])
    border = np.concatenate([m[:30].ravel(), m[-30:].ravel()])
    return lungs.mean() + 60 < border.mean()


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_dicom(
    path,
    pixels,
    *,
    photometric="MONOCHROME2",
    slope=None,
    intercept=None,
    window=None,
    frames=1,
    preamble=True,
    pixel_data=True,
    transfer_syntax=None,
):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128 if preamble else None)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    ds.PatientName = "Test^Synthetic"
    arr = np.asarray(pixels, dtype=np.uint16)
    if frames > 1:
        arr = np.stack([arr] + [np.zeros_like(arr)] * (frames - 1))
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = arr.shape[-2], arr.shape[-1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if pixel_data and meta.TransferSyntaxUID.is_compressed:
        from pydicom.encaps import encapsulate

        ds.PixelData = encapsulate([b"\xff\xd8 not a real codestream \xff\xd9" * 4])
        ds["PixelData"].VR = "OB"
    elif pixel_data:
        ds.PixelData = arr.tobytes()
    ds.save_as(path, enforce_file_format=preamble)
    return path


# --- ordinary formats -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".tif"])
def test_8bit_formats_give_a_224_gray_input_with_dark_lungs(tmp_path, suffix):
    path = tmp_path / f"chest{suffix}"
    Image.fromarray(chest()).save(path)
    x = read_image(path)
    assert x.model_input.shape == (224, 224) and x.model_input.dtype == np.uint8
    assert lungs_dark(x.model_input)
    assert x.preview.mode == "L" and max(x.preview.size) <= 1024
    assert x.source["width"] == 200 and x.source["height"] == 240


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P", "CMYK", "1"])
def test_colour_alpha_palette_and_bilevel_images_read_as_gray(tmp_path, mode):
    gray = Image.fromarray(chest(lung=0, body=255))
    im = gray.convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png" if mode != "1" else ".bmp"
    path = tmp_path / f"x{suffix}"
    im.save(path)
    assert lungs_dark(load_model_input(path))


def test_png_with_palette_transparency_reads_without_warning(tmp_path, recwarn):
    im = Image.fromarray(chest()).convert("P")
    path = tmp_path / "t.png"
    im.save(path, transparency=0)
    assert lungs_dark(load_model_input(path))
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_16bit_png_gradient_keeps_its_order_and_uses_the_full_range(tmp_path):
    ramp = np.tile(np.linspace(1000, 40000, 300).astype(np.uint16), (100, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    x = read_image(path)
    assert x.source["bit_depth"] == 16
    row = x.model_input[112].astype(int)
    assert (np.diff(row) >= 0).all()
    assert row[0] <= 2 and row[-1] >= 253  # stretched, not truncated to the high byte


def test_16bit_png_chest_has_dark_lungs(tmp_path):
    path = tmp_path / "chest16.png"
    Image.fromarray(chest(body=50000, lung=3000, dtype=np.uint16)).save(path)
    assert lungs_dark(load_model_input(path))


def test_16bit_tiff_reads_like_16bit_png(tmp_path):
    arr = chest(body=60000, lung=1000, dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "a.tif")
    Image.fromarray(arr).save(tmp_path / "a.png")
    tif, png = load_model_input(tmp_path / "a.tif"), load_model_input(tmp_path / "a.png")
    assert np.array_equal(tif, png)
    assert lungs_dark(tif)


def test_exif_rotated_jpeg_comes_out_upright(tmp_path):
    upright = np.zeros((300, 200), np.uint8)
    upright[:60] = 255  # a bright band at the top
    stored = Image.fromarray(upright).rotate(90, expand=True)  # stored lying on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: the viewer turns it 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif, quality=95)
    x = read_image(path)
    assert x.preview.size == (200, 300)
    m = x.model_input.astype(float)
    assert m[:30].mean() > 200 and m[-100:].mean() < 30


def test_squash_matches_the_training_sets_resize(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (400, 300), dtype=np.uint8)
    path = tmp_path / "noise.png"
    Image.fromarray(arr).save(path)
    expected = np.asarray(Image.fromarray(arr).resize((224, 224), Image.BILINEAR))
    assert np.array_equal(load_model_input(path), expected)


def test_224_training_file_is_not_resized(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (224, 224), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "x.png")
    assert np.array_equal(load_model_input(tmp_path / "x.png"), arr)


def test_animated_gif_and_multipage_tiff_read_their_first_frame(tmp_path):
    first = Image.fromarray(chest())
    other = Image.new("L", first.size, 255)
    first.save(tmp_path / "a.gif", save_all=True, append_images=[other], duration=100, loop=0)
    first.save(tmp_path / "a.tif", save_all=True, append_images=[other])
    for name in ("a.gif", "a.tif"):
        x = read_image(tmp_path / name)
        assert x.source["multi_frame"] and lungs_dark(x.model_input)


def test_large_jpeg_is_decoded_at_reduced_scale_close_to_full_decode(tmp_path):
    rng = np.random.default_rng(2)
    big = np.kron(rng.integers(0, 256, (40, 50), dtype=np.uint8), np.ones((50, 50), np.uint8))
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=95)
    x = read_image(path)
    assert max(x.source["decoded_size"]) < 2500  # draft used
    assert min(x.source["decoded_size"]) >= imaging.DRAFT_SIZE
    full = np.asarray(Image.open(path).convert("L").resize((224, 224), Image.BILINEAR))
    assert np.abs(full.astype(int) - x.model_input.astype(int)).mean() < 3


def test_preview_respects_the_requested_size(tmp_path):
    Image.fromarray(chest(h=900, w=700)).save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png", preview_size=300)
    assert max(x.preview.size) == 300 and x.preview.mode == "L"
    assert read_image(tmp_path / "a.png", preview_size=None).preview is None


@pytest.mark.parametrize("suffix", sorted(imaging.SUPPORTED_SUFFIXES - imaging.DICOM_SUFFIXES))
def test_every_suffix_a_folder_scan_takes_is_read(tmp_path, suffix):
    """The scan's list promises only what the reader opens: one file of each, saved by Pillow
    in the format it associates with the suffix."""
    path = tmp_path / f"chest{suffix}"
    Image.fromarray(chest()).save(path)
    x = read_image(path)
    assert lungs_dark(x.model_input), x.source["format"]


def test_pillow_images_say_what_they_are(tmp_path):
    Image.fromarray(chest()).save(tmp_path / "a.webp", lossless=True)
    s = read_image(tmp_path / "a.webp").source
    assert (s["format"], s["width"], s["height"], s["mode"], s["bit_depth"]) == (
        "WEBP", 200, 240, "RGB", 8)  # WebP stores grey as RGB...
    assert (s["frames"], s["frame"], s["multi_frame"], s["colour_fraction"]) == (
        1, 1, False, 0.0)  # ...and colour_fraction says it is grey


def half_red(gray_image):
    rgb = np.stack([np.asarray(gray_image)] * 3, axis=-1)
    rgb[: rgb.shape[0] // 2, :, 0] = 255  # the top half turned red
    rgb[: rgb.shape[0] // 2, :, 1:] //= 3
    return Image.fromarray(rgb)


def save_rgb(image, path):
    if path.name.startswith("adobe"):  # a JPEG stored as RGB (Adobe marker, no YCbCr)
        import imagecodecs

        path.write_bytes(imagecodecs.jpeg8_encode(np.asarray(image), level=90,
                                                  colorspace="RGB", outcolorspace="RGB"))
    else:
        image.save(path)


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.gif", "a.tif", "adobe_rgb.jpg"])
def test_colour_fraction_tells_a_colour_picture_from_a_grey_one_stored_in_colour(
        tmp_path, name):
    (tmp_path / "grey").mkdir()
    (tmp_path / "red").mkdir()
    save_rgb(Image.fromarray(chest()).convert("RGB"), tmp_path / "grey" / name)  # grey picture
    save_rgb(half_red(chest()), tmp_path / "red" / name)
    for folder in ("grey", "red"):
        path = tmp_path / folder / name
        x = read_image(path)
        if folder == "grey":
            assert x.source["colour_fraction"] < 0.02
        else:
            assert 0.4 < x.source["colour_fraction"] < 0.6
        # beside it, the model input is what a grey decode gives, as before colour_fraction
        im = Image.open(path)
        if name.endswith(".jpg"):
            im.draft("L", (imaging.DRAFT_SIZE, imaging.DRAFT_SIZE))
        expected = imaging.squash(im.convert("RGB").convert("L"))
        assert np.array_equal(x.model_input, np.asarray(expected)), folder


# --- DICOM ------------------------------------------------------------------------------------


def test_dicom_monochrome2_has_dark_lungs(tmp_path):
    path = write_dicom(tmp_path / "m2.dcm", chest(body=3500, lung=300, dtype=np.uint16))
    x = read_image(path)
    assert x.source["format"] == "DICOM" and x.source["photometric"] == "MONOCHROME2"
    assert lungs_dark(x.model_input)


def test_dicom_monochrome1_is_inverted_so_lungs_are_dark_too(tmp_path):
    # MONOCHROME1: high values are dark on screen... stored lungs are *high*.
    stored = chest(body=300, lung=3500, dtype=np.uint16)
    path = write_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1")
    m1 = load_model_input(path)
    m2 = load_model_input(
        write_dicom(tmp_path / "m2.dcm", chest(body=3500, lung=300, dtype=np.uint16))
    )
    assert lungs_dark(m1)
    assert np.abs(m1.astype(int) - m2.astype(int)).mean() < 2


def test_dicom_rescale_and_window_are_applied(tmp_path):
    # Stored values 0..4000 -> Hounsfield-like -1000..3000 by the modality LUT; a window of
    # centre 0 width 200 saturates everything but a narrow band: lung (-1000) black, body
    # (stored 1100 -> 100) white, and a step at stored 1000 (-> 0) mid gray.
    arr = chest(body=1100, lung=0, dtype=np.uint16)
    arr[:20] = 1000
    path = write_dicom(tmp_path / "w.dcm", arr, slope=1, intercept=-1000, window=(0, 200))
    m = load_model_input(path).astype(int)
    assert lungs_dark(m)
    assert m[100, 50] <= 2 and m[200, 112] >= 253
    assert 100 < m[5, 112] < 160


def test_dicom_without_extension_is_recognised_by_its_preamble(tmp_path):
    path = write_dicom(tmp_path / "IM000001", chest(body=3000, lung=200, dtype=np.uint16))
    assert imaging.is_dicom_file(path)
    assert lungs_dark(load_model_input(path))


def test_dicom_without_preamble_reads_when_named_dcm(tmp_path):
    path = write_dicom(
        tmp_path / "raw.dcm", chest(body=3000, lung=200, dtype=np.uint16), preamble=False
    )
    assert lungs_dark(load_model_input(path))


def test_multiframe_dicom_reads_the_first_frame_and_says_so(tmp_path):
    path = write_dicom(tmp_path / "mf.dcm", chest(body=3000, lung=200, dtype=np.uint16), frames=3)
    x = read_image(path)
    assert x.source["frames"] == 3 and x.source["multi_frame"] and x.source["frame"] == 1
    assert lungs_dark(x.model_input)  # the other two frames are black


def test_dicom_without_pixel_data_says_so(tmp_path):
    path = write_dicom(tmp_path / "sr.dcm", chest(dtype=np.uint16), pixel_data=False)
    with pytest.raises(DicomNoPixelDataError) as info:
        read_image(path)
    assert "contains no image" in info.value.user_message()


@pytest.fixture
def without_gdcm(monkeypatch):
    """pydicom's decoders as the bundles have them: no GDCM plug-in (the tests encode with GDCM,
    the app no longer ships it)."""
    from pydicom.pixels import get_decoder

    from desktop.reading import dicom_decoders

    dicom_decoders.register()  # before the copy: the original is put back after the test
    for syntax in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                   "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
                   "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.5"):
        decoder = get_decoder(syntax)
        plugins = {k: v for k, v in decoder._available.items() if k != "gdcm"}
        monkeypatch.setattr(decoder, "_available", plugins)


@pytest.mark.usefixtures("without_gdcm")
@pytest.mark.parametrize(
    ("syntax", "uid"),
    [
        ("JPEGLosslessProcess14_1", "1.2.840.10008.1.2.4.70"),  # the commonest for CR/DX
        ("JPEGLosslessProcess14", "1.2.840.10008.1.2.4.57"),
        ("JPEGLSLossless", "1.2.840.10008.1.2.4.80"),
        ("JPEG2000Lossless", "1.2.840.10008.1.2.4.90"),
        ("RLELossless", "1.2.840.10008.1.2.5"),
    ],
)
def test_compressed_dicom_from_a_pacs_reads_like_the_uncompressed_file(tmp_path, syntax, uid):
    plain = write_dicom(tmp_path / "plain.dcm", chest(dtype=np.uint16) * 16)
    packed = gdcm_compress(plain, tmp_path / "packed.dcm", syntax)
    x = read_image(packed)
    assert x.source["transfer_syntax"] == uid
    assert np.array_equal(x.model_input, read_image(plain).model_input)  # lossless: same input
    assert lungs_dark(x.model_input)


def test_dicom_compressed_in_a_way_no_decoder_knows_says_so(tmp_path):
    from pydicom.uid import MPEG2MPML

    path = write_dicom(tmp_path / "video.dcm", chest(dtype=np.uint16), transfer_syntax=MPEG2MPML)
    with pytest.raises(DicomCompressionError) as info:
        read_image(path)
    assert "Compressed DICOM of this kind is not supported" in str(info.value)


# --- failures ---------------------------------------------------------------------------------


def test_a_path_that_names_no_file_is_told_it_does_not_exist(tmp_path):
    (tmp_path / "link.png").symlink_to(tmp_path / "nowhere.png")
    for path in (tmp_path / "typo.png", tmp_path / "link.png", tmp_path / "no dir" / "a.png"):
        with pytest.raises(NoSuchFileError) as info:
            read_image(path)
        assert info.value.user_message().startswith("This file does not exist.")


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(EmptyFileError):
        read_image(tmp_path / "empty.jpg")


@pytest.mark.parametrize(
    "name, data",
    [
        ("notes.png", b"these are some notes, not an image\n" * 10),
        ("paper.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
        ("folder.dcm", b"plain text in a .dcm file" * 20),
    ],
)
def test_non_images_are_refused_with_a_sentence(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(NotAnImageError) as info:
        read_image(tmp_path / name)
    assert info.value.user_message().startswith("This file is not an image or is damaged.")


def test_truncated_jpeg_is_reported_damaged(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(chest()).save(buf, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(NotAnImageError):
        read_image(tmp_path / "cut.jpg")


def test_directory_is_not_an_image(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ReadError):
        read_image(tmp_path / "d.png")


def test_unreadable_file_says_permission_when_open_is_refused(tmp_path, monkeypatch):
    """A file the OS refuses to open (chmod 000 for a non-root user): the refusal is what we map.

    Simulated, because the tests run as root in CI and root reads anything."""
    import builtins

    path = tmp_path / "locked.png"
    Image.fromarray(chest()).save(path)
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(FilePermissionError) as info:
        read_image(path)
    assert "permission" in info.value.user_message()


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # A PNG header declaring 30000 x 30000 pixels, a few bytes of data.
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    import struct

    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError) as info:
        read_image(tmp_path / "bomb.png")
    assert "too large" in info.value.user_message()
    assert "(900 megapixels, the limit is 89)" in info.value.user_message()  # not "?"


@pytest.mark.parametrize("kind", ["jpg", "bmp", "tif", "dcm"])
def test_every_bomb_is_told_its_declared_size(tmp_path, kind):
    side = fuzz_corpus.BOMB_SIDE  # 30000 x 30000 declared, a few bytes of data
    declared = {
        "jpg": lambda: fuzz_corpus.jpeg_declaring(side, side),
        "bmp": lambda: fuzz_corpus.bmp_declaring(side, side),
        "tif": lambda: fuzz_corpus.tiff_declaring(side, side),
        "dcm": lambda: dicom_bytes(np.zeros((8, 8), np.uint16), rows_cols=(side, side)),
    }[kind]()
    (tmp_path / f"bomb.{kind}").write_bytes(declared)
    with pytest.raises(ImageTooLargeError) as info:
        read_image(tmp_path / f"bomb.{kind}")
    assert "(900 megapixels, the limit is 89)" in str(info.value)


def test_reading_never_changes_the_input(tmp_path):
    paths = []
    for suffix in (".jpg", ".png", ".tif"):
        p = tmp_path / f"a{suffix}"
        Image.fromarray(chest()).save(p)
        paths.append(p)
    paths.append(write_dicom(tmp_path / "a.dcm", chest(dtype=np.uint16)))
    before = {p: (sha(p), p.stat().st_mtime_ns) for p in paths}
    for p in paths:
        read_image(p)
    assert before == {p: (sha(p), p.stat().st_mtime_ns) for p in paths}


def test_reader_does_not_import_gui_or_dicom_modules_for_ordinary_images(tmp_path):
    import subprocess

    Image.fromarray(chest()).save(tmp_path / "a.png")
    code = (
        "import sys; from desktop.reading.imaging import load_model_input; "
        f"load_model_input({str(tmp_path / 'a.png')!r}); "
        "print(sorted(m for m in ('pydicom', 'platformdirs', 'tkinter', 'tkinterdnd2', 'torch')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- real data ---------------------------------------------------------------------------------


def test_real_fullres_samples_read(tmp_path):
    folder = require_shared(SHARED_DATA / "fullres_samples")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in imaging.SUPPORTED_SUFFIXES)
    assert len(files) >= 10
    for path in files[:10]:
        x = read_image(path)
        assert x.model_input.shape == (224, 224)
        assert 20 < x.model_input.mean() < 235


def test_palette_colour_dicom_reads_through_its_lookup_table(tmp_path):
    from pydicom import dcmread

    path = write_dicom(tmp_path / "pal.dcm", chest(dtype=np.uint16))
    ds = dcmread(path)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = chest(body=200, lung=10).tobytes()
    # An inverting palette: index 200 (body) is shown dark, index 10 (lungs) bright.
    lut = ((255 - np.arange(256)) * 257).astype("<u2").tobytes()
    for colour in ("Red", "Green", "Blue"):
        ds.add_new(f"{colour}PaletteColorLookupTableDescriptor", "US", [256, 0, 16])
        ds.add_new(f"{colour}PaletteColorLookupTableData", "OW", lut)
    ds.save_as(path)
    m = load_model_input(path)
    assert not lungs_dark(m)  # the palette, not the raw indices, decides what is shown
    assert m[100, 50] > 200 and m[5, 112] < 60


def test_a_16bit_png_keeps_its_values_for_the_viewer_and_an_8bit_one_needs_none(tmp_path):
    ramp = np.tile(np.linspace(1000, 40000, 600).astype(np.uint16), (200, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    x = read_image(tmp_path / "ramp16.png", preview_size=300)
    assert x.display.codes.shape == (100, 300) and x.preview.size == (300, 100)
    assert (x.display.low, x.display.high) == (1000.0, 40000.0)
    # the same range and the same resize as the 8-bit preview, with 256 times the levels
    shown = np.asarray(x.preview, dtype=float)
    assert np.abs(x.display.codes / 257.0 - shown).max() <= 1.0
    # the model input is what it was before the buffer existed: the stretched 8-bit squash
    expected = np.asarray(imaging.squash(imaging.stretch_to_uint8(ramp)), np.uint8)
    assert np.array_equal(x.model_input, expected)
    Image.fromarray(chest()).save(tmp_path / "eight.png")
    assert read_image(tmp_path / "eight.png").display is None


def test_a_flat_16bit_image_gets_a_buffer_of_one_unit(tmp_path):
    Image.fromarray(np.full((50, 60), 777, np.uint16)).save(tmp_path / "flat.png")
    buffer = read_image(tmp_path / "flat.png").display
    assert (buffer.low, buffer.high) == (777.0, 778.0) and not buffer.codes.any()


@pytest.mark.parametrize("bbox", [(0, 12, 8, 2), (9, 0, 1, 8)], ids=["right<left", "bottom<top"])
def test_psd_whose_layer_parser_fails_is_reported_damaged(tmp_path, bbox):
    """Pillow raises ValueError("negative tile size") from a PSD's layer box, after the header
    was accepted: the file's fault, told as such, not "Something went wrong"."""
    path = tmp_path / "layers.psd"
    path.write_bytes(fuzz_corpus.psd_with_layer(bbox))
    with pytest.raises(NotAnImageError):
        read_image(path)


@pytest.mark.parametrize("kind, side", [(b"icp4", fuzz_corpus.BOMB_SIDE), (b"ic10", 2**31 - 1)])
def test_an_icon_whose_inner_image_is_huge_never_says_zero_megapixels(tmp_path, kind, side):
    """A 16 x 16 (or 1024 x 1024) icon holding a PNG that claims far more: the refusal gives
    the inner image's size, never the icon's rounded to 0."""
    png = fuzz_corpus.png_declaring(side, side, zlib.compress(b"\x00" * 64))
    path = tmp_path / "icon.icns"
    path.write_bytes(fuzz_corpus.icns_holding(png, kind))
    with pytest.raises(ImageTooLargeError) as info:
        read_image(path)
    sentence = info.value.user_message()
    assert f"({side * side / 1e6:.0f} megapixels" in sentence
    assert "(0 megapixels" not in sentence


def test_a_refusal_whose_count_is_not_above_the_limit_does_not_print_it():
    from desktop.reading.pixels import MAX_PIXELS, too_large

    for pixels in (0, 256, MAX_PIXELS, None):
        sentence = too_large(pixels).user_message()
        assert "megapixels, the limit" not in sentence and "the limit is 89 megapixels" in sentence
    assert "(90 megapixels" in too_large(MAX_PIXELS + 600_000).user_message()
