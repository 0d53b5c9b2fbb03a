"""The photo pipeline: an untrusted upload in, two clean JPEGs and private facts out.

Two steps. In the request, ``inspect_photo`` identifies the upload by content (never by file name), rejects
what is not a single, complete still photo of a sane size, and reads the capture time and position from its
EXIF data (for staff only) without decoding a pixel. In the worker, ``develop`` decodes it, turns the pixels
upright exactly once and downscales to at most ``MAX_SIDE`` pixels; the photo is then stored as a JPEG without
any metadata (plus a ``THUMBNAIL_SIDE`` thumbnail) and the upload as sent is deleted. ``process_photo`` runs
both steps at once.
"""

from __future__ import annotations

import io
import math
import os
import struct
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import BinaryIO, cast
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError
from PIL.TiffImagePlugin import IFDRational

from reports.errors import PhotoError

# HEIC/HEIF through Pillow. Thumbnails, depth maps and auxiliary images (HDR gain maps) are never used:
# not listing them means less of an untrusted container is parsed.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Photos one report or one staff action takes at once (the web forms, the citizen and staff APIs, Open311).
MAX_PHOTOS_PER_UPLOAD = 5
MAX_BYTES = 15 * 1024 * 1024
# Phone photos go up to 48–50 MP (8064 × 6048, 8160 × 6120); anything larger is refused before a single
# pixel is decoded. Checked here explicitly rather than by lowering the process-wide
# Image.MAX_IMAGE_PIXELS, whose default (89 MP warning, 179 MP error) stays as a second line.
MAX_PIXELS = 50_000_000
# What decoding costs is the pixel count, not the file size: a 2 KB lossless WebP of 7070 × 7070 px decoded
# to 750 MB. JPEGs are decoded at a reduced scale (DRAFT_MIN_SIDE below), the others in full, so:
# - PNG and WebP are screenshots and converted pictures, never a camera's own output: at most 16 MP
#   (a 4608 × 3456 photo converted to WebP still fits);
# - a PNG, WebP or HEIF above SMALL_IMAGE_PIXELS must have at least one byte per MAX_PIXELS_PER_BYTE
#   pixels. Real camera HEIFs have 5–19 pixels per byte (data/photos), a 48 MP HEIC is several MB; only
#   flat, synthetic pictures reach hundreds or thousands of pixels per byte.
MAX_PIXELS_PNG_WEBP = 16_000_000
MAX_PIXELS_PER_BYTE = 200
SMALL_IMAGE_PIXELS = 4_000_000
# Decoding in one server process may hold at most this much memory at once (estimated per photo from its
# size and format, see _decode_cost); photos beyond it wait their turn. The largest accepted photo (a 50 MP
# HEIC, about 400 MB while it is decoded) fits, so each photo runs, possibly alone.
DECODE_MEMORY_BUDGET = 512 * 1024 * 1024
MAX_SIDE = 2048
# A JPEG is decoded at a reduced scale if its long side still has this many pixels: 15/16 of MAX_SIDE, so
# that 12 MP (4032 px → 2016) and 48–50 MP phone photos (8064 → 2016, 8160 → 2040) need neither a
# full-size decode nor a resize. An 8 MP photo (3264 px) is decoded in full: half would be 1632 px.
# Other formats (HEIC above all) cannot be decoded at a reduced scale; they are reduced by the same integer
# factor after decoding (a box average: 20 ms for a 12 MP HEIC, where resampling to 2048 px took 200 ms).
DRAFT_MIN_SIDE = 1600  # "at most 2048 px": an 8 MP photo halves to 1632 px, which meets the speed target
THUMBNAIL_SIDE = 400
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
# Cameras write local time without a zone; the service area is in Germany.
CAPTURE_TIME_ZONE = ZoneInfo("Europe/Berlin")

# Pillow format names tried when opening; nothing else is ever parsed beyond its signature.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# Pillow's JPEG opener returns "MPO" for JPEGs with a multi-picture index, which many phones write (a
# gain map or depth map after the photo). The first picture is the photo: not an animation.
_MULTI_PICTURE_JPEG = "MPO"

# What Pillow's decoders raise on malformed input (their fuzzers accept these); anything raised while
# parsing untrusted bytes is the file's fault, not a server error.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, RuntimeError)

_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class PhotoUpload:
    """An upload checked without decoding a pixel: what a request stores (privately) and answers with.

    The photo's pixels are decoded, turned upright and re-encoded later, by the worker (``develop``); ``width``
    and ``height`` are already those of the photo it will store. ``captured_at`` and ``gps`` are private.
    """

    raw: bytes = field(repr=False)
    source_format: str
    width: int
    height: int
    captured_at: datetime | None
    gps: tuple[float, float] | None


@dataclass(frozen=True)
class ProcessedPhoto:
    """A re-encoded photo, upright, without metadata; ``captured_at`` and ``gps`` are private."""

    image: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)
    width: int
    height: int
    thumbnail_width: int
    thumbnail_height: int
    captured_at: datetime | None
    gps: tuple[float, float] | None
    source_format: str | None  # Pillow's format of the upload (always known for an opened file)


def inspect_photo(data: bytes | BinaryIO, *, max_bytes: int = MAX_BYTES) -> PhotoUpload:
    """Check an uploaded file (bytes, or a binary file read from its start) as far as that is possible
    without decoding its pixels, and read its private facts: what a request does with a photo.

    Raises ``PhotoError`` for anything that is not a single, complete still JPEG, PNG, WebP or HEIF photo of
    at most ``max_bytes`` bytes and ``MAX_PIXELS`` pixels. Reading the header and the EXIF data of a
    12 MP photo takes about a millisecond; decoding it, 50 ms (JPEG) to 500 ms (HEIC).
    """
    raw = _read(data, max_bytes)
    with _open(raw) as im:
        if not _complete(raw, im.format):
            raise PhotoError("truncated")
        # A PNG's EXIF chunk may follow its pixel data, which Pillow would decode to find it: not here.
        exif = Image.Exif() if im.format == "PNG" and "exif" not in im.info else _exif(im)
        width, height = _stored_size(im, _orientation(exif, im.size))
        return PhotoUpload(
            raw=raw, source_format=_source_format(im), width=width, height=height,
            captured_at=_captured_at(exif), gps=_gps(exif),
        )


def inspected_photos(uploads: Iterable[bytes | BinaryIO], field: str = "photos") -> list[PhotoUpload]:
    """``inspect_photo`` for each uploaded file; the first bad one raises its PhotoError with ``field`` "photos.N"."""
    photos = []
    for number, upload in enumerate(uploads):
        # Never more than the pipeline accepts (one byte more tells it the file is too large).
        content = upload if isinstance(upload, bytes) else upload.read(MAX_BYTES + 1)
        try:
            photos.append(inspect_photo(content))
        except PhotoError as exc:
            exc.field = f"{field}.{number}"
            raise
    return photos


def develop(raw: bytes) -> Image.Image:
    """The photo of an upload as it is stored: decoded, upright, at most ``MAX_SIDE`` pixels, in sRGB, RGB or
    greyscale (``L``), without metadata. Its size is the one ``inspect_photo`` announced.

    Raises ``PhotoError`` for a file that cannot be decoded after all (its pixel data is broken).
    """
    raw = _read(raw, MAX_BYTES)
    with _open(raw) as im:
        if im.format in ("JPEG", _MULTI_PICTURE_JPEG):
            # DCT scaling: libjpeg decodes at 1/2, 1/4 or 1/8 straight away (the largest factor that keeps
            # DRAFT_MIN_SIDE); most of the decoding and resizing work for a large photo is never done.
            im.draft(None, fit(im.size, DRAFT_MIN_SIDE))
        # Held until the full-size pixels and every intermediate image are gone: concurrent photos in one
        # process wait here instead of decoding side by side until the machine runs out of memory.
        with _DECODE_BUDGET.reserve(_decode_cost(im)):
            try:
                im.load()
            except _DECODE_ERRORS as exc:
                raise PhotoError("truncated") from exc
            orientation = _orientation(_exif(im), im.size)  # after load(): a PNG's EXIF may follow its pixels
            image = _reduced(_to_rgb_or_l(im))
            image = _resize(image, fit(image.size, MAX_SIDE))
            image = _to_srgb(image, im.info.get("icc_profile"))
            # Turning the downscaled image is cheaper than turning the decoded one.
            if orientation is not None:
                image = image.transpose(orientation)
            image.info = {}
            return image


def thumbnail_of(image: Image.Image) -> Image.Image:
    return _resize(image, fit(image.size, THUMBNAIL_SIDE))


def process_photo(data: bytes | BinaryIO, *, max_bytes: int = MAX_BYTES) -> ProcessedPhoto:
    """``inspect_photo`` and ``develop`` at once, with both JPEGs encoded: the whole pipeline in one call.

    Raises ``PhotoError`` for anything that is not a single still JPEG, PNG, WebP or HEIF photo of at
    most ``max_bytes`` bytes and ``MAX_PIXELS`` pixels.
    """
    upload = inspect_photo(data, max_bytes=max_bytes)
    image = develop(upload.raw)
    thumbnail = thumbnail_of(image)
    return ProcessedPhoto(
        image=encode_jpeg(image, JPEG_QUALITY),
        thumbnail=encode_jpeg(thumbnail, THUMBNAIL_QUALITY),
        width=image.width,
        height=image.height,
        thumbnail_width=thumbnail.width,
        thumbnail_height=thumbnail.height,
        captured_at=upload.captured_at,
        gps=upload.gps,
        source_format=upload.source_format,
    )


def _source_format(im: Image.Image) -> str:
    return "JPEG" if im.format == _MULTI_PICTURE_JPEG else cast(str, im.format)


def _stored_size(im: Image.Image, orientation: Image.Transpose | None) -> tuple[int, int]:
    """The size ``develop`` gives the photo, from its header alone: the same steps, on numbers."""
    width, height = im.size
    if im.format in ("JPEG", _MULTI_PICTURE_JPEG):
        # libjpeg's reduced decode as Pillow's draft() chooses it: 1/8, 1/4, 1/2 or 1, sides rounded up.
        requested = fit(im.size, DRAFT_MIN_SIDE)
        ratio = min(width // requested[0], height // requested[1])
        scale = next(a for a in (8, 4, 2, 1) if ratio >= a)
        width, height = -(-width // scale), -(-height // scale)
    else:
        factor = max(width, height) // DRAFT_MIN_SIDE
        if factor > 1:
            width, height = -(-width // factor), -(-height // factor)
    width, height = fit((width, height), MAX_SIDE)
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    return width, height


# --- reading and identifying --------------------------------------------------------------------


def _read(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        if data.seekable():
            data.seek(0)
        # One byte more than allowed tells "too large" apart without reading all of a huge upload.
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoError("too_large", megabytes=round(max_bytes / 2**20, 1))
    if not raw:
        raise PhotoError("not_an_image")
    return raw


def _open(raw: bytes) -> Image.Image:
    """Identify by content and check size and frames; no pixel is decoded yet."""
    if _is_other_image_format(raw):
        raise PhotoError("unsupported_format")
    with warnings.catch_warnings():
        # Pillow warns (rather than raises) between Image.MAX_IMAGE_PIXELS and twice that. Our own limit
        # below is lower than Pillow's default, so this matters only if someone lowers the global one;
        # catch_warnings is not thread-safe, but the explicit check below does not depend on it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoError("too_many_pixels", megapixels=MAX_PIXELS // 1_000_000) from exc
        except UnidentifiedImageError as exc:
            raise PhotoError("not_an_image") from exc
        except _DECODE_ERRORS as exc:
            # The signature matched, the header did not make sense.
            raise PhotoError("truncated") from exc
    width, height = im.size
    if width * height > MAX_PIXELS:
        im.close()
        raise PhotoError("too_many_pixels", megapixels=MAX_PIXELS // 1_000_000)
    if im.format in ("PNG", "WEBP") and width * height > MAX_PIXELS_PNG_WEBP:
        im.close()
        raise PhotoError("too_many_pixels_png_webp", megapixels=MAX_PIXELS_PNG_WEBP // 1_000_000)
    if im.format in _DECODED_IN_FULL and width * height > max(SMALL_IMAGE_PIXELS, len(raw) * MAX_PIXELS_PER_BYTE):
        im.close()
        raise PhotoError("implausible_compression", megapixels=max(1, round(width * height / 1_000_000)))
    if im.format != _MULTI_PICTURE_JPEG and getattr(im, "n_frames", 1) > 1:
        im.close()
        raise PhotoError("animated")
    if im.format == "HEIF" and not _boxes_complete(raw):
        im.close()
        raise PhotoError("truncated")
    return im


# Formats without a reduced-scale decode: every declared pixel is decoded.
_DECODED_IN_FULL = ("PNG", "WEBP", "HEIF")
# Peak bytes per (decoded) pixel from decoding to the thumbnail, measured with Pillow 12 / pillow-heif 1.x:
# WebP decodes to RGBA and is then converted; HEIF is copied once from libheif's buffer; a JPEG after
# draft() decodes at most about 10 MP. PNG covers 16-bit greyscale, which passes through 32-bit integers.
_BYTES_PER_PIXEL: dict[str | None, int] = {"JPEG": 8, _MULTI_PICTURE_JPEG: 8, "PNG": 12, "WEBP": 18, "HEIF": 8}


def _decode_cost(im: Image.Image) -> int:
    """The memory the decoding of ``im`` (at its draft size, for a JPEG) is expected to take at its peak."""
    width, height = im.size
    return width * height * _BYTES_PER_PIXEL.get(im.format, max(_BYTES_PER_PIXEL.values()))


class _MemoryBudget:
    """A counting semaphore in bytes, first come first served: a large photo is not overtaken forever by
    small ones. A request for more than the whole budget waits until it has the budget to itself."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._waiting: deque[object] = deque()
        self._condition = threading.Condition()

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        amount = min(amount, self.total)
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
            self._condition.wait_for(lambda: self._waiting[0] is ticket and self.free >= amount)
            self._waiting.popleft()
            self.free -= amount
            self._condition.notify_all()  # the next in line may fit, too
        try:
            yield
        finally:
            with self._condition:
                self.free += amount
                self._condition.notify_all()


_DECODE_BUDGET = _MemoryBudget(DECODE_MEMORY_BUDGET)


def _complete(raw: bytes, image_format: str | None) -> bool:
    """Whether the file is complete, as far as its structure tells without decoding the pixels: an upload cut
    off on a bad mobile connection is refused in the request, not found broken later by the worker."""
    if image_format in ("JPEG", _MULTI_PICTURE_JPEG):
        return _jpeg_complete(raw)
    if image_format == "PNG":
        return _PNG_END in raw
    if image_format == "WEBP":
        (size,) = struct.unpack_from("<I", raw, 4)
        return len(raw) >= size + 8
    return True  # HEIF: its boxes are checked when it is opened (_open)


# The IEND chunk: length 0, type, CRC.
_PNG_END = b"\0\0\0\0IEND\xaeB`\x82"
# Markers without a length field (TEM, RST0–7); SOS starts the compressed data, EOI ends it.
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_JPEG_SOS, _JPEG_EOI = 0xDA, b"\xff\xd9"


def _jpeg_complete(raw: bytes) -> bool:
    """The segments from SOI to the first scan follow each other by their lengths, and the end-of-image marker
    comes after it. (Compressed data escapes every 0xFF, so the first FF D9 after the scan begins is the end of
    the image; some phones append data after it, which is fine.)"""
    offset = 2  # after SOI, which the opener checked
    while offset + 4 <= len(raw):
        if raw[offset] != 0xFF:
            return False
        marker = raw[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in _JPEG_STANDALONE:
            offset += 2
            continue
        (length,) = struct.unpack_from(">H", raw, offset + 2)
        if length < 2:
            return False
        if marker == _JPEG_SOS:
            return raw.find(_JPEG_EOI, offset + 2 + length) != -1
        offset += 2 + length
    return False


def _boxes_complete(raw: bytes) -> bool:
    """Whether the top-level boxes of an ISO base media file (HEIF) add up to exactly the file.

    libheif fills the tiles of a grid image whose data is missing instead of failing, so a HEIC cut off
    even at 10 % decodes "successfully"; its last box (``mdat``, the pixel data) then runs past the end.
    """
    offset = 0
    while offset < len(raw):
        if offset + 8 > len(raw):
            return False
        (size,) = struct.unpack_from(">I", raw, offset)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > len(raw):
                return False
            (size,) = struct.unpack_from(">Q", raw, offset + 8)
            header = 16
        elif size == 0:  # the last box, extending to the end of the file
            return True
        if size < header:
            return False
        offset += size
    return offset == len(raw)


def _is_other_image_format(head: bytes) -> bool:
    """Images we recognise but do not accept (answered with 415 rather than "not an image")."""
    if head.startswith((b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"8BPS", b"qoif", b"\xff\x0a")):
        return True  # GIF, TIFF, Photoshop, QOI, JPEG XL codestream
    if head.startswith(b"BM") and head[6:10] == b"\0\0\0\0":
        return True  # BMP (its reserved fields are zero)
    if head.startswith((b"\x00\x00\x00\x0cJXL \r\n\x87\n", b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return True  # JPEG XL container, JPEG 2000
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return True
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<") and b"<svg" in text and b"<html" not in text


# --- pixels --------------------------------------------------------------------------------------


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its long side is at most ``side``."""
    width, height = size
    longest = max(width, height)
    if longest <= side:
        return size
    scale = side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb_or_l(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "L", "CMYK"):  # CMYK is converted together with its colour profile
        return im
    if im.mode in ("I;16", "I;16L", "I;16B", "I", "F"):
        # 16-bit greyscale (PNG): scale to 8 bits; a plain convert() would clip everything above 255.
        return im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if im.mode == "RGBA":
        # Pasted with its own alpha as the mask: no RGBA copy of a picture that may have 16 MP.
        flat = Image.new("RGB", im.size, _BACKGROUND)
        flat.paste(im, mask=im)
        return flat
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _reduced(im: Image.Image) -> Image.Image:
    """``im`` reduced by the largest integer factor that keeps DRAFT_MIN_SIDE pixels on its long side, as libjpeg
    decodes a JPEG with draft() (which arrives here already reduced)."""
    factor = max(im.size) // DRAFT_MIN_SIDE
    return im.reduce(factor) if factor > 1 else im


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        return im
    # Bicubic is Pillow's thumbnail default: sharp enough at these ratios and a third faster than Lanczos.
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _apply(im: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    """The colour conversion; a large image in two halves at once (LittleCMS runs without the GIL): on 2 cores
    57 instead of 115 ms for a 12 MP phone photo (3 MP by then), the same pixels."""
    pool = _strip_pool()
    if pool is None or im.width * im.height < _STRIP_MIN_PIXELS:
        return _apply_whole(im, transform)
    middle = im.height // 2
    halves = [pool.submit(_apply_whole, im.crop(box), transform)
              for box in ((0, 0, im.width, middle), (0, middle, im.width, im.height))]
    result = Image.new("RGB", im.size)
    for half, top in zip(halves, (0, middle), strict=True):
        result.paste(half.result(), (0, top))
    return result


def _apply_whole(im: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    # Not in place: always a new image (None only comes back for inPlace=True).
    return cast(Image.Image, ImageCms.applyTransform(im, transform))


_STRIP_MIN_PIXELS = 1_000_000


@lru_cache(maxsize=1)
def _strip_pool() -> ThreadPoolExecutor | None:
    """Two threads for the halves of an image, if this process may use more than one CPU."""
    return ThreadPoolExecutor(2, thread_name_prefix="photo-halves") if len(os.sched_getaffinity(0)) > 1 else None


def _to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert to sRGB, the colour space a browser assumes for an image without a profile."""
    if im.mode == "CMYK":
        transform = _srgb_transform(icc_profile, "CMYK") if icc_profile else None
        return _apply(im, transform) if transform else im.convert("RGB")
    if im.mode == "RGB" and icc_profile:
        transform = _srgb_transform(icc_profile, "RGB")
        if transform is not None:
            return _apply(im, transform)
    # Greyscale profiles change little; they are dropped like every other piece of metadata.
    return im


def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """None when no conversion is needed or possible."""
    if len(icc_profile) > _MAX_CACHED_PROFILE_BYTES:
        return None  # a JPEG can carry a profile of up to 16 MB: not worth keeping in the cache
    return _cached_srgb_transform(icc_profile, mode)


# Phones use a handful of profiles (Display P3, sRGB); building a transform costs more than applying it.
_MAX_CACHED_PROFILE_BYTES = 256 * 1024


@lru_cache(maxsize=16)
def _cached_srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if mode == "RGB" and profile.profile.xcolor_space.strip() != "RGB":
            return None
        if mode == "RGB" and "srgb" in (profile.profile.profile_description or "").lower():
            return None
        return ImageCms.buildTransform(
            profile, ImageCms.createProfile("sRGB"), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile: keep the pixels as they are


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    # Pillow copies a source's comment from .info into the output; nothing of the source may leave.
    im.info = {}
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


# --- orientation ----------------------------------------------------------------------------------

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}
_SWAPS_SIDES = {_TRANSPOSE[value] for value in _QUARTER_TURNS}


def _orientation(exif: Image.Exif, stored_size: tuple[int, int]) -> Image.Transpose | None:
    """The one turn that makes the pixels upright, from the orientation Pillow reports.

    For HEIF, pillow-heif has already applied the container's rotation (``irot``/``imir``) and reports
    orientation 1 even where the raw EXIF still says 6, so a HEIF photo is never turned twice.
    """
    value = exif.get(ExifTags.Base.Orientation)
    if not isinstance(value, int) or value not in _TRANSPOSE:
        return None
    width, height = stored_size
    if value in _QUARTER_TURNS and height > width:
        # Camera and phone sensors are landscape: they store landscape pixels and record the quarter
        # turn in the tag. Portrait pixels with a quarter-turn tag were turned by an editor that left
        # the tag behind (a stale tag); obeying it would lay the photo on its side.
        return None
    return _TRANSPOSE[value]


# --- private metadata -----------------------------------------------------------------------------


def _exif(im: Image.Image) -> Image.Exif:
    try:
        return im.getexif()
    except (*_DECODE_ERRORS, KeyError, TypeError):
        return Image.Exif()  # unreadable metadata is no reason to refuse the photo


def _sub_ifd(exif: Image.Exif, ifd: ExifTags.IFD) -> dict:
    try:
        return dict(exif.get_ifd(ifd))
    except (*_DECODE_ERRORS, KeyError, TypeError):
        return {}


def _captured_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal with OffsetTimeOriginal, else taken as local time in Germany.

    DateTimeDigitized is the fallback (the same moment for a camera); the IFD0 DateTime is not used: it
    is the time of the last change and some phones write it in UTC.
    """
    ifd = _sub_ifd(exif, ExifTags.IFD.Exif)
    for time_tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        moment = _parse_exif_time(ifd.get(time_tag))
        if moment is not None:
            return moment.replace(tzinfo=_parse_exif_offset(ifd.get(offset_tag)) or CAPTURE_TIME_ZONE)
    return None


def _parse_exif_time(value: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # blank ("    :  :     :  :  ") or zero ("0000:00:00 00:00:00") dates


def _parse_exif_offset(value: object) -> timezone | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ")
    if len(value) != 6 or value[0] not in "+-" or value[3] != ":":
        return None
    try:
        hours, minutes = int(value[1:3]), int(value[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if value[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees, or None for anything that is not a plausible position."""
    ifd = _sub_ifd(exif, ExifTags.IFD.GPSInfo)
    if _exif_text(ifd.get(ExifTags.GPS.GPSStatus)) == "V":
        return None  # the receiver itself marked the measurement void
    latitude = _gps_coordinate(ifd.get(ExifTags.GPS.GPSLatitude), ifd.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90)
    longitude = _gps_coordinate(
        ifd.get(ExifTags.GPS.GPSLongitude), ifd.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
    )
    if latitude is None or longitude is None:
        return None
    if latitude == 0 and longitude == 0:
        return None  # "Null Island": a receiver without a fix, never a place anyone reports from
    return latitude, longitude


def _gps_coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    ref = _exif_text(ref)
    if ref not in (positive, negative):
        return None  # without a hemisphere the sign is a guess
    if isinstance(value, (int, float, IFDRational)):
        value = (value,)
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(part) and part >= 0 for part in parts):
        return None  # Pillow reads a rational with a zero denominator (0/0, 52/0) as NaN
    if any(part >= 60 for part in parts[1:]):
        return None  # minutes and seconds
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    if degrees > limit:
        return None
    return -degrees if ref == negative else degrees


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ").upper() if isinstance(value, str) else None
