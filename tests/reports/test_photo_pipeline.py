"""The photo pipeline: every sample phone photo comes out upright, small and clean; everything that is not
a single still photo of a sane size is refused, quickly, with a code the API can pass on."""

from __future__ import annotations

import functools
import io
import json
import struct
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils.functional import Promise
from django.utils.translation import override
from PIL import ExifTags, Image, ImageCms, ImageOps

from reports.photos import DRAFT_MIN_SIDE, MAX_SIDE, THUMBNAIL_SIDE, PhotoError, ProcessedPhoto, process_photo

pytestmark = pytest.mark.backend_independent

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
MANIFEST = json.loads((PHOTOS / "MANIFEST.json").read_text())
BY_FILE = {entry["file"]: entry for entry in MANIFEST}
BERLIN = ZoneInfo("Europe/Berlin")

# Read from each file's EXIF (DateTimeOriginal, OffsetTimeOriginal), keyed by the file's number.
CAPTURED_AT = {
    "02": None,
    "03": None,
    "04": None,
    "05": datetime(2015, 4, 10, 20, 12, 23, tzinfo=BERLIN),  # no offset: local time in Germany (CEST)
    "06": datetime(2022, 8, 14, 14, 12, 31, tzinfo=timezone(timedelta(hours=3))),
    "07": datetime(2021, 4, 11, 15, 47, 53, tzinfo=timezone(timedelta(hours=-5))),
    "08": datetime(2022, 2, 16, 12, 55, 41, tzinfo=timezone(timedelta(hours=1))),
    # Only the IFD0 DateTime (the time of the last change), which this phone writes in UTC: not used.
    "09": None,
    "10": None,
    "15": datetime(2019, 9, 26, 16, 38, 0, tzinfo=BERLIN),
    "16": datetime(2005, 1, 31, 5, 51, 17, tzinfo=BERLIN),
    "19": datetime(2010, 5, 15, 17, 12, 5, tzinfo=BERLIN),
    "20": datetime(2020, 9, 2, 18, 52, 42, tzinfo=BERLIN),
}

photo_files = pytest.mark.parametrize("name", sorted(BY_FILE))


@functools.cache
def processed(name: str) -> ProcessedPhoto:
    return process_photo((PHOTOS / name).read_bytes())


def is_stale(entry: dict) -> bool:
    """The manifest marks photos whose orientation tag outlived a rotation of the pixels."""
    return "STALE" in entry["file"]


def upright_size(entry: dict) -> tuple[int, int]:
    """The size as a person holds the photo, from the manifest's facts alone."""
    width, height = entry["pillow_size"]
    # pillow_size of a HEIF is after the container's rotation, whatever the raw EXIF tag says (STACK.md).
    if entry["format"] == "JPEG" and entry["exif_orientation_raw"] in (5, 6, 7, 8) and not is_stale(entry):
        return height, width
    return width, height


def upright_reference(entry: dict) -> Image.Image:
    """The photo as a colour-managed viewer that knows the manifest's facts would show it."""
    with Image.open(PHOTOS / entry["file"]) as im:
        if entry["format"] == "HEIF" or is_stale(entry):
            upright = im.convert("RGB")  # already upright: by the HEIF container, or by an editor
        else:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        if icc_profile := im.info.get("icc_profile"):
            upright = ImageCms.profileToProfile(
                upright, ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)), ImageCms.createProfile("sRGB")
            )
        return upright


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference (0–255) of two images shrunk to 24 × 24 grey pixels."""
    a_pixels = a.convert("L").resize((24, 24), Image.Resampling.BOX).tobytes()
    b_pixels = b.convert("L").resize((24, 24), Image.Resampling.BOX).tobytes()
    return sum(abs(x - y) for x, y in zip(a_pixels, b_pixels, strict=True)) / len(a_pixels)


def jpeg_header(data: bytes) -> tuple[list[int], bytes]:
    """The markers of a JPEG's segments up to its scan, and those bytes (everything but pixel data)."""
    assert data[:2] == b"\xff\xd8"
    markers, offset = [], 2
    while True:
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        markers.append(marker)
        offset += 2 + length
        if marker == 0xDA:  # start of scan
            return markers, data[:offset]


def assert_no_metadata(data: bytes, entry: dict | None = None) -> None:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        assert set(im.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
        assert not im.getexif()
    markers, header = jpeg_header(data)
    # Only JFIF (APP0), quantisation and Huffman tables, frame, scan: no APP1–APP15, no comment.
    assert set(markers) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xDA}
    for needle in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"MPF", b"Photoshop"):
        assert needle not in data
    assert b"GPS" not in header
    for text in (entry or {}).get("make"), (entry or {}).get("model"):
        if text:
            assert text.encode() not in data


def assert_rejected(data: object, code: str, **kwargs: object) -> PhotoError:
    started = time.perf_counter()
    with pytest.raises(PhotoError) as caught:
        process_photo(data, **kwargs)
    assert time.perf_counter() - started < 1.0
    assert caught.value.code == code
    return caught.value


def jpeg(im: Image.Image, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


def encoded(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


# --- every sample photo ---------------------------------------------------------------------------


def test_every_photo_in_the_folder_is_in_the_manifest_and_none_is_skipped():
    files = {path.name for path in PHOTOS.iterdir() if path.name != "MANIFEST.json"}
    assert files == set(BY_FILE)
    assert set(CAPTURED_AT) == {name[:2] for name in BY_FILE}


@photo_files
def test_the_photo_comes_out_upright_as_a_person_holds_it(name):
    entry = BY_FILE[name]
    result = processed(name)
    width, height = upright_size(entry)
    assert (result.width > result.height) == (width > height)
    assert (result.width < result.height) == (width < height)
    assert result.width / result.height == pytest.approx(width / height, rel=0.01)
    with Image.open(io.BytesIO(result.image)) as out:
        assert out.size == (result.width, result.height)


@photo_files
def test_the_picture_matches_the_upright_original_and_no_other_turn_of_it(name):
    entry = BY_FILE[name]
    reference = upright_reference(entry)
    with Image.open(io.BytesIO(processed(name).image)) as out:
        turns = {
            angle: difference(out, reference.rotate(angle, expand=True) if angle else reference)
            for angle in (0, 90, 180, 270)
        }
    assert turns[0] < 10, turns
    assert turns[0] <= min(turns.values()), turns
    if entry["pillow_size"] != [1, 1]:
        assert min(turns[90], turns[180], turns[270]) > turns[0] + 10, turns


@photo_files
def test_the_photo_is_at_most_2048_px_and_the_thumbnail_at_most_400_px(name):
    result = processed(name)
    original_long = max(BY_FILE[name]["pillow_size"])
    long_side = max(result.width, result.height)
    assert min(original_long, DRAFT_MIN_SIDE) <= long_side <= min(original_long, MAX_SIDE)
    assert max(result.thumbnail_width, result.thumbnail_height) == min(long_side, THUMBNAIL_SIDE)
    assert result.thumbnail_width / result.thumbnail_height == pytest.approx(result.width / result.height, rel=0.02)
    with Image.open(io.BytesIO(result.thumbnail)) as thumbnail:
        assert thumbnail.size == (result.thumbnail_width, result.thumbnail_height)


@photo_files
def test_photo_and_thumbnail_carry_no_metadata(name):
    result = processed(name)
    assert_no_metadata(result.image, BY_FILE[name])
    assert_no_metadata(result.thumbnail, BY_FILE[name])


@photo_files
def test_the_position_is_recorded_privately_where_the_photo_has_a_valid_one(name):
    gps = BY_FILE[name]["gps"]
    result = processed(name)
    if gps is None:
        assert result.gps is None
    else:
        assert result.gps == pytest.approx((gps["lat"], gps["lon"]), abs=1e-5)


@photo_files
def test_the_capture_time_is_recorded_privately_with_its_offset_or_as_german_time(name):
    expected = CAPTURED_AT[name[:2]]
    captured_at = processed(name).captured_at
    assert captured_at == expected
    if expected is not None:
        assert captured_at.utcoffset() == expected.utcoffset()


@photo_files
def test_the_source_format_is_named_by_content(name):
    assert processed(name).source_format == BY_FILE[name]["format"]


def test_a_heic_whose_raw_exif_says_orientation_6_is_not_turned_twice():
    entry = BY_FILE["08_heic_iphone13promax_orient6_nogps.heic"]
    assert entry["exif_orientation_raw"] == 6 and entry["pillow_size"] == [3024, 4032]
    result = processed(entry["file"])
    # Upright (portrait), and halved like a 12 MP JPEG (a box average of 2 × 2 pixels, no resampling).
    assert (result.width, result.height) == (1512, 2016)


def test_a_stale_orientation_tag_on_turned_pixels_is_not_obeyed():
    entry = BY_FILE["16_jpeg_canon-a85_orient8-STALE_pixels-already-rotated_nogps.jpg"]
    assert entry["exif_orientation_raw"] == 8 and entry["pillow_size"] == [1704, 2272]
    result = processed(entry["file"])
    assert (result.width, result.height) == (1536, 2048)


def test_the_one_pixel_photo_stays_one_pixel():
    result = processed("20_jpeg_iphoneXR_1x1px_gps-croatia.jpg")
    assert (result.width, result.height, result.thumbnail_width, result.thumbnail_height) == (1, 1, 1, 1)


# --- other accepted inputs ------------------------------------------------------------------------


def test_a_file_object_is_read_from_its_start_and_its_name_does_not_matter(tmp_path):
    path = tmp_path / "upload.png"  # a JPEG with the wrong name
    path.write_bytes((PHOTOS / "04_jpeg_orient3_landscape_nogps.jpg").read_bytes())
    with path.open("rb") as upload:
        upload.read(100)
        result = process_photo(upload)
    assert (result.source_format, result.width, result.height) == ("JPEG", 600, 450)


def test_a_large_jpeg_is_decoded_at_half_scale_instead_of_being_resized():
    # 4032 × 3024 (12 MP): libjpeg decodes 2016 × 1512 directly, which is within 2048 px.
    result = process_photo(jpeg(Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")))
    assert (result.width, result.height) == (2016, 1512)


def test_comments_xmp_and_icc_profiles_of_the_source_are_not_copied():
    source = jpeg(
        Image.new("RGB", (64, 48), "green"),
        comment=b"Aufgenommen von Erika Mustermann",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Erika Mustermann</dc:creator></x:xmpmeta>',
        icc_profile=b"\0" * 128,
    )
    result = process_photo(source)
    assert_no_metadata(result.image)
    assert_no_metadata(result.thumbnail)
    assert b"Mustermann" not in result.image + result.thumbnail


def test_a_png_with_transparency_is_flattened_onto_white():
    result = process_photo(encoded(Image.new("RGBA", (40, 30), (255, 0, 0, 0)), "PNG"))
    assert result.source_format == "PNG"
    with Image.open(io.BytesIO(result.image)) as out:
        assert out.mode == "RGB"
        assert all(channel > 245 for channel in out.getpixel((20, 15)))


def test_a_16_bit_greyscale_png_keeps_its_tones():
    result = process_photo(encoded(Image.new("I;16", (40, 30), 40000), "PNG"))
    with Image.open(io.BytesIO(result.image)) as out:
        assert out.getpixel((20, 15)) == pytest.approx(40000 / 257, abs=3)


def test_a_webp_is_accepted():
    result = process_photo(encoded(Image.new("RGB", (3000, 1000), "blue"), "WEBP"))
    assert (result.source_format, result.width, result.height) == ("WEBP", 2048, 683)


def test_a_multi_picture_jpeg_from_a_phone_is_read_as_its_first_picture():
    # Phones append gain maps or depth maps as further pictures (MPO): not an animation.
    source = encoded(
        Image.new("RGB", (64, 48), "red"), "MPO", save_all=True, append_images=[Image.new("RGB", (32, 24), "blue")]
    )
    with Image.open(io.BytesIO(source)) as im:
        assert (im.format, im.n_frames) == ("MPO", 2)
    result = process_photo(source)
    assert (result.source_format, result.width, result.height) == ("JPEG", 64, 48)
    with Image.open(io.BytesIO(result.image)) as out:
        red, _, blue = out.getpixel((32, 24))
        assert red > 200 and blue < 60


def test_a_cmyk_jpeg_comes_out_as_rgb():
    result = process_photo(jpeg(Image.new("CMYK", (64, 48), (0, 255, 255, 0))))
    with Image.open(io.BytesIO(result.image)) as out:
        assert out.mode == "RGB"


# --- refused inputs -------------------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header (1-bit greyscale) declaring any size, followed by a few bytes of pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(jpeg(Image.new("RGB", (16, 16))))
    frame = data.index(b"\xff\xc0")  # SOF0: marker, length, precision, height, width
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def heif_declaring(width: int, height: int) -> bytes:
    data = bytearray(encoded(Image.new("RGB", (64, 64)), "HEIF"))
    extents = data.index(b"ispe")  # image spatial extents: type, version and flags, width, height
    data[extents + 8 : extents + 16] = struct.pack(">II", width, height)
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: png_declaring(30_000, 30_000), id="png-30000x30000-pillow-error"),
        pytest.param(lambda: png_declaring(10_000, 10_000), id="png-100MP-pillow-warning"),
        pytest.param(lambda: png_declaring(8_000, 7_000), id="png-56MP-our-limit"),
        pytest.param(lambda: jpeg_declaring(60_000, 60_000), id="jpeg-60000x60000"),
        pytest.param(lambda: heif_declaring(20_000, 20_000), id="heif-20000x20000"),
    ],
)
def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(data):
    assert_rejected(data(), "too_many_pixels")


def test_a_50_megapixel_phone_photo_is_within_the_pixel_limit():
    # 8160 × 6120 (Samsung's 50 MP mode) as the JPEG phones write: the header passes the limit, and the
    # JPEG is decoded at a quarter of its size. (PNG and WebP stop at 16 MP: tests/hardening/test_decode_memory.py.)
    assert process_photo(jpeg_declaring(8_160, 6_120)).width == 2040


def test_a_jpeg_cut_in_half_is_refused_as_truncated():
    data = (PHOTOS / "05_jpeg_iphone6_o1_gps-madrid.jpg").read_bytes()
    assert_rejected(data[: len(data) // 2], "truncated")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_a_cut_off_heic_is_refused_as_truncated_although_libheif_would_fill_the_gaps(fraction):
    data = (PHOTOS / "07_heic_iphone11promax_no-orient-tag_gps-kansascity.heic").read_bytes()
    assert_rejected(data[: int(len(data) * fraction)], "truncated")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_png_or_webp_cut_in_half_is_refused_as_truncated(fmt):
    data = encoded(Image.effect_noise((200, 200), 64).convert("RGB"), fmt)
    assert_rejected(data[: len(data) // 2], "truncated")


def test_zero_bytes_are_not_an_image():
    assert_rejected(b"", "not_an_image")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", id="pdf"),
        pytest.param(b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", id="html"),
    ],
)
def test_a_file_named_jpg_that_is_no_image_is_refused(tmp_path, content):
    path = tmp_path / "schlagloch.jpg"
    path.write_bytes(content)
    with path.open("rb") as upload:
        assert_rejected(upload, "not_an_image")


def test_a_jpeg_signature_followed_by_anything_else_is_refused_as_damaged():
    assert_rejected(b"\xff\xd8\xff\xe0 not really a JPEG", "truncated")


def test_an_svg_is_an_unsupported_format():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    assert_rejected(svg, "unsupported_format")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_unsupported(fmt):
    assert_rejected(encoded(Image.new("RGB", (16, 16)), fmt), "unsupported_format")


def test_an_animated_gif_is_an_unsupported_format():
    frames = [Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue")]
    assert_rejected(encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), "unsupported_format")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_animations_and_image_sequences_are_refused(fmt):
    frames = [Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue")]
    assert_rejected(encoded(frames[0], fmt, save_all=True, append_images=frames[1:]), "animated")


def test_a_file_over_the_size_limit_is_refused_without_reading_all_of_it():
    data = (PHOTOS / "05_jpeg_iphone6_o1_gps-madrid.jpg").read_bytes()
    error = assert_rejected(data, "too_large", max_bytes=1_000_000)
    assert error.params == {"megabytes": 1.0}
    upload = io.BytesIO(data)
    assert_rejected(upload, "too_large", max_bytes=1_000_000)
    assert upload.tell() == 1_000_001


def test_the_default_size_limit_is_15_mb():
    assert_rejected(b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024), "too_large")


def test_every_error_has_a_lazy_english_message_with_its_numbers_filled_in():
    for code in ("not_an_image", "unsupported_format", "too_large", "too_many_pixels", "truncated", "animated"):
        error = PhotoError(code, megabytes=15, megapixels=50)
        assert isinstance(error.message, Promise)
        with override("en"):
            text = str(error.message)
        assert text and "%(" not in text
    error = PhotoError("too_large", megabytes=15)
    assert error.params == {"megabytes": 15}
    with override("en"):
        assert str(error.message) == "The photo is larger than 15 MB."
        assert str(error) == "too_large: The photo is larger than 15 MB."


def test_a_processed_photo_is_frozen_and_its_repr_leaves_out_the_bytes():
    result = processed("10_jpeg_casio-qv7000sx_no-exif-at-all.jpg")
    assert "image=" not in repr(result) and "320" in repr(result)
    with pytest.raises(AttributeError):
        result.width = 1


# --- GPS and capture time edge cases --------------------------------------------------------------

ASCII, RATIONAL, DOUBLE = 2, 5, 12


def exif_with_gps(*entries: tuple[int, int, object]) -> bytes:
    """EXIF (little-endian TIFF) whose IFD0 only points to a GPS IFD of (tag, type, values) entries.

    Built by hand because Pillow refuses to write NaN and cannot choose a tag's type.
    """
    packed = []
    for tag, kind, values in entries:
        if kind == ASCII:
            payload = values.encode() + b"\0"
        elif kind == RATIONAL:
            payload = b"".join(struct.pack("<II", numerator, denominator) for numerator, denominator in values)
        else:
            payload = b"".join(struct.pack("<d", value) for value in values)
        count = len(payload) if kind == ASCII else len(values)
        packed.append((tag, kind, count, payload))
    gps_at = 8 + 2 + 12 + 4
    data_at = gps_at + 2 + 12 * len(packed) + 4
    directory, data = b"", b""
    for tag, kind, count, payload in sorted(packed):
        if len(payload) <= 4:
            directory += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
        else:
            directory += struct.pack("<HHII", tag, kind, count, data_at + len(data))
            data += payload
    ifd0 = struct.pack("<HHHIII", 1, 0x8825, 4, 1, gps_at, 0)
    gps = struct.pack("<H", len(packed)) + directory + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + gps + data


def gps_photo(lat: object, lon: object, lat_ref: str | None = "N", lon_ref: str | None = "E", extra=()) -> bytes:
    entries = [*extra]
    for ref_tag, ref, value_tag, value in ((1, lat_ref, 2, lat), (3, lon_ref, 4, lon)):
        if ref is not None:
            entries.append((ref_tag, ASCII, ref))
        kind = DOUBLE if isinstance(value[0], float) else RATIONAL
        entries.append((value_tag, kind, value))
    return jpeg(Image.new("RGB", (16, 16), "grey"), exif=exif_with_gps(*entries))


BERLIN_LAT = ((52, 1), (31, 1), (1200, 100))  # 52° 31' 12" = 52.52
BERLIN_LON = ((13, 1), (24, 1), (3600, 100))  # 13° 24' 36" = 13.41


def test_a_valid_hand_built_gps_position_is_read():
    assert process_photo(gps_photo(BERLIN_LAT, BERLIN_LON)).gps == pytest.approx((52.52, 13.41))
    assert process_photo(gps_photo(BERLIN_LAT, BERLIN_LON, "S", "W")).gps == pytest.approx((-52.52, -13.41))


@pytest.mark.parametrize(
    "photo",
    [
        pytest.param(lambda: gps_photo(((0, 0), (0, 0), (0, 0)), BERLIN_LON), id="0/0-denominators"),
        pytest.param(lambda: gps_photo(((52, 0), (31, 1), (0, 1)), BERLIN_LON), id="x/0-denominator"),
        pytest.param(lambda: gps_photo(((0, 1), (0, 1), (0, 1)), ((0, 1), (0, 1), (0, 1))), id="null-island"),
        pytest.param(lambda: gps_photo(((95, 1), (0, 1), (0, 1)), BERLIN_LON), id="latitude-95"),
        pytest.param(lambda: gps_photo(BERLIN_LAT, ((181, 1), (0, 1), (0, 1))), id="longitude-181"),
        pytest.param(lambda: gps_photo((float("nan"), 31.0, 12.0), BERLIN_LON), id="nan"),
        pytest.param(lambda: gps_photo((float("inf"), 31.0, 12.0), BERLIN_LON), id="infinity"),
        pytest.param(lambda: gps_photo(((52, 1), (75, 1), (0, 1)), BERLIN_LON), id="75-minutes"),
        pytest.param(lambda: gps_photo(BERLIN_LAT, BERLIN_LON, lat_ref=None), id="no-hemisphere"),
        pytest.param(lambda: gps_photo(BERLIN_LAT, BERLIN_LON, lat_ref="X"), id="bad-hemisphere"),
        pytest.param(lambda: gps_photo(BERLIN_LAT, BERLIN_LON, extra=[(9, ASCII, "V")]), id="status-void"),
    ],
)
def test_an_invalid_gps_position_is_ignored_not_trusted(photo):
    result = process_photo(photo())
    assert result.gps is None
    assert_no_metadata(result.image)


def photo_with_times(exif_ifd: dict[int, str], ifd0: dict[int, str] | None = None) -> bytes:
    exif = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    exif[ExifTags.IFD.Exif] = exif_ifd
    return jpeg(Image.new("RGB", (16, 16)), exif=exif)


@pytest.mark.parametrize(
    "exif_ifd, ifd0, expected",
    [
        pytest.param(
            {ExifTags.Base.DateTimeOriginal: "2024:07:01 12:00:00"},
            None,
            datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            id="naive-summer-time-in-berlin",
        ),
        pytest.param(
            {ExifTags.Base.DateTimeOriginal: "2024:01:15 08:30:00"},
            None,
            datetime(2024, 1, 15, 8, 30, tzinfo=timezone(timedelta(hours=1))),
            id="naive-winter-time-in-berlin",
        ),
        pytest.param(
            {ExifTags.Base.DateTimeOriginal: "2024:01:15 08:30:00", ExifTags.Base.OffsetTimeOriginal: "+05:30"},
            None,
            datetime(2024, 1, 15, 8, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            id="with-offset",
        ),
        pytest.param(
            {ExifTags.Base.DateTimeOriginal: "2024:01:15 08:30:00", ExifTags.Base.OffsetTimeOriginal: "+99:00"},
            None,
            datetime(2024, 1, 15, 8, 30, tzinfo=timezone(timedelta(hours=1))),
            id="nonsense-offset-ignored",
        ),
        pytest.param(
            {ExifTags.Base.DateTimeDigitized: "2024:01:15 08:30:00"},
            None,
            datetime(2024, 1, 15, 8, 30, tzinfo=timezone(timedelta(hours=1))),
            id="digitized-as-fallback",
        ),
        pytest.param({ExifTags.Base.DateTimeOriginal: "0000:00:00 00:00:00"}, None, None, id="zero-date"),
        pytest.param({ExifTags.Base.DateTimeOriginal: "    :  :     :  :  "}, None, None, id="blank-date"),
        pytest.param({}, {ExifTags.Base.DateTime: "2024:01:15 08:30:00"}, None, id="only-the-change-time"),
    ],
)
def test_the_capture_time_is_read_with_care(exif_ifd, ifd0, expected):
    captured_at = process_photo(photo_with_times(exif_ifd, ifd0)).captured_at
    assert captured_at == expected
    if expected is not None:
        assert captured_at.utcoffset() == expected.utcoffset()
