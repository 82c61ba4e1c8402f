"""The studio's work: open a photo, find its people, render previews and full-size results.

Wiring only, with the command line's package functions: dof_io decodes the upload (the same
checks and messages as ``read_rgb``), the segmenter of ``dof seg`` makes the mask, dof_seg splits
it into people, and ``dof_smooth.portrait_blur`` (or ``dof_gan.translate`` with the overlay)
renders. Previews run on a copy whose longer side is ``preview_size`` with the radius scaled to
it; the download runs on the photo itself, so with everyone selected it equals what
``dof smooth PHOTO --segmenter selfie --radius R`` writes.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

import dof_io
import dof_seg
import dof_smooth
from dof_gan.tiling import DEFAULT_MAX_MEMORY
from dof_io.tensors import image_to_tensor, tensor_to_image
from dof_studio.errors import BusyError, NotOpenError, StudioError
from dof_studio.jobs import Progress

#: the method name of the generator (dof-gan's bundled defocus model, or --model)
GENERATOR = "GAN"
#: the GAN's aperture slider reaches this multiple of the learned aperture
APERTURE_MAX_FACTOR = 3.0
#: download formats: name -> (suffix, media type)
FORMATS = {"png": (".png", "image/png"), "jpg": (".jpg", "image/jpeg")}
#: the largest radius a slider offers: lens as a fraction of the longer side, box/Gaussian in px
LENS_MAX_FRACTION = 0.06
KERNEL_MAX_RADIUS = 25.0
MAX_HIGHLIGHTS = 16.0
#: overlay colours: the chosen people and the others
CHOSEN_TINT = np.array([0, 200, 255], dtype=np.uint8)
OTHER_TINT = np.array([255, 120, 0], dtype=np.uint8)
OVERLAY_OPACITY = 110  # of 255, where the mask is 1
#: peak bytes per pixel of opening a photo (the uint8 pixels, their float tensor, the mask and
#: the segmenter's work at full size; measured with bench/studio_hostile.py), checked against
#: --max-memory from the file's header, before a pixel is decoded
OPEN_BYTES_PER_PIXEL = 40
#: bytes per pixel a full-size render holds besides the blur or the generator:
#: the subject mask, the people map upsampled (the blur and generator estimates count the rest)
RENDER_BYTES_PER_PIXEL = 16

RGB = npt.NDArray[np.uint8]


def download_format(fmt: str) -> tuple[str, str]:
    """(suffix, media type) of a download format; the one check of ``format``.

    Raises:
        StudioError: not ``png`` or ``jpg``.
    """
    if fmt not in FORMATS:
        raise StudioError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    return FORMATS[fmt]


@dataclass(frozen=True)
class StudioConfig:
    """How the studio runs.

    Attributes:
        segmenter: dof-seg backend for the person mask (``selfie`` is built in and offline).
        refine: mask refinement at the photo's size, as ``dof seg --refine`` (``none``,
            ``guided``, ``matting``); None = the segmenter's default.
        model: an exported generator (or run folder / checkpoint) for the ``GAN`` method;
            None = the defocus generator dof-gan ships (``dof_gan.bundled_generator``).
        device: torch device for the segmenter, the blurs and the generator.
        preview_size: longer side of the preview, pixels.
        max_upload_bytes: uploads larger than this are refused before they are decoded.
        max_pixels: photos with more pixels (read from the header) are refused; by default
            the command line's limit, so the page opens whatever ``dof smooth`` reads.
        keep_photos: photos held in memory at once (the oldest is dropped).
        max_memory: bytes one open or full-size render may take (``--max-memory``, the default
            of ``dof apply``): generator renders tile within it, blurs and opens that would
            need more are refused before work starts. 0: no limit.
        max_opening: uploads read and opened at once (more are answered 503, busy).
        min_person_area: mask regions smaller than this fraction of the frame are not people of
            their own; they join the nearest person.
        preview_threads: torch threads for the interactive work (open, preview); one renders a
            1 MP preview in about 0.3 s and does not stall when other processes hold the cores.
            0 = torch's default.
        render_threads: torch threads for full-size renders; 0 = torch's default. The count is
            process-wide, so torch work runs one piece at a time (:func:`torch_threads`).
    """

    segmenter: str = dof_seg.DEFAULT_SEGMENTER
    refine: str | None = None
    model: Path | None = None
    device: str = "cpu"
    preview_size: int = 1280
    max_upload_bytes: int = 256 * 2**20
    max_pixels: int = dof_io.MAX_PIXELS
    keep_photos: int = 4
    max_memory: int = DEFAULT_MAX_MEMORY
    max_opening: int = 2
    min_person_area: float = 0.002
    preview_threads: int = 1
    render_threads: int = 0


@dataclass(frozen=True)
class RenderSettings:
    """What the page's controls set.

    Attributes:
        method: ``lens``, ``gaussian``, ``box`` or ``GAN``.
        radius: in pixels of the full-size photo, as ``dof smooth --radius``; None = the
            method's default (2, 4, or 2% of the longer side for lens; for a GAN with a
            defocus map, its learned aperture: the slider scales the map).
        highlights: highlight boost gain (0 = off), as ``dof smooth --highlights``.
        people: labels of the people who stay sharp; None = everyone the segmenter found.
    """

    method: str = "lens"
    radius: float | None = None
    highlights: float = 0.0
    people: frozenset[int] | None = None


@dataclass(frozen=True)
class Photo:
    """An open photo: the pixels, the mask, the people, and the preview copies.

    Attributes:
        rgb: (H, W, 3) uint8, EXIF orientation applied.
        mask: (1, 1, H, W) float32 soft person mask from the segmenter, on the CPU.
        preview: (1, 3, h, w) float32 in [0, 1], the longer side at most ``preview_size``.
        preview_mask: (1, 1, h, w) the mask at the preview's size.
        labels: (1, 1, h, w) int64 people map (0 nobody, 1..people) at the preview's size.
        people: how many people were found.
    """

    id: str
    name: str
    rgb: RGB
    mask: Tensor
    preview: Tensor
    preview_mask: Tensor
    labels: Tensor
    people: int

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the photo."""
        return self.rgb.shape[0], self.rgb.shape[1]


#: held by whoever runs torch work in the studio; see :func:`torch_threads`
_TORCH_WORK = threading.RLock()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block as the studio's only torch work, with ``count`` torch threads (0: torch's
    default), restored after.

    The one place that sets threads for opens, previews and full-size renders.
    ``torch.set_num_threads`` is process-wide, so two blocks with different counts cannot run
    at once: each holds one process-wide lock for its duration (a preview waits while a
    full-size render runs). This also keeps the peak memory to one piece of work at a time.
    """
    with _TORCH_WORK:
        before = torch.get_num_threads()
        if count > 0:
            torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)


class Studio:
    """Holds the models and the open photos; every handler of the page calls one method."""

    def __init__(
        self, config: StudioConfig = StudioConfig(), *, segmenter: dof_seg.Segmenter | None = None
    ) -> None:
        self.config = config
        refine = {} if config.refine is None else {"refine": config.refine}
        self.segmenter = segmenter or dof_seg.get_segmenter(
            config.segmenter, device=config.device, **refine
        )
        from dof_gan import bundled_generator, load_generator_with_info

        model = config.model or bundled_generator()
        self.generator, self.generator_info = load_generator_with_info(model, device=config.device)
        self.generator_name = model.name
        self.prior: dof_seg.Segmenter | None = None  # the segmenter the generator reads
        if self.generator_info.prior:
            same = self.generator_info.prior == config.segmenter and config.refine is None
            self.prior = self.segmenter if same else dof_seg.get_segmenter(
                self.generator_info.prior, device=config.device)  # fmt: skip
        self._photos: OrderedDict[str, Photo] = OrderedDict()
        self._seconds_per_pixel: dict[str, float] = {}  # of the last preview, per method
        self._lock = threading.Lock()
        self._opening = 0  # uploads being read or opened (at most config.max_opening)

    @property
    def methods(self) -> list[str]:
        """The render methods: lens first, the GAN last."""
        return ["lens", *(m for m in dof_smooth.METHODS if m != "lens"), GENERATOR]

    # -- photos -----------------------------------------------------------------------------

    @contextmanager
    def opening(self) -> Iterator[None]:
        """A place among the uploads read and opened at once (``max_opening``), held for the
        block; taken before the upload's body is read.

        Raises:
            BusyError: every place is taken; the page says to wait and try again.
        """
        with self._lock:
            if self._opening >= self.config.max_opening:
                raise BusyError(
                    f"the studio is busy opening {self._opening} other photos; try again when "
                    "they are open"
                )
            self._opening += 1
        try:
            yield
        finally:
            with self._lock:
                self._opening -= 1

    def open(self, data: bytes, name: str) -> Photo:
        """Decode an upload, segment it and split the mask into people.

        Raises:
            dof_io.ImageReadError: not a readable photo, or over ``max_pixels``; the message
                names the file as the command line does.
            dof_io.MemoryBudgetError: opening it would need more than ``max_memory`` (checked
                from the header, before a pixel is decoded).
        """
        dof_io.check_memory(data, bytes_per_pixel=OPEN_BYTES_PER_PIXEL,
                            budget=self.config.max_memory, what="opening", name=name)  # fmt: skip
        rgb = dof_io.decode_rgb(data, name, max_pixels=self.config.max_pixels)
        image = image_to_tensor(rgb)
        with torch.inference_mode(), torch_threads(self.config.preview_threads):
            mask, detected = self._segment(image.to(self.config.device))
            preview, preview_mask = self._preview_copies(rgb, mask)
            if detected is None:  # people are the mask's regions
                labels = dof_seg.label_people(preview_mask, min_area=self.config.min_person_area)
            else:  # people are the detector's
                small = F.interpolate(detected.float(), size=preview_mask.shape[-2:])
                labels = dof_seg.fill_labels(small.long())
        photo = Photo(
            id=secrets.token_urlsafe(9), name=name, rgb=rgb, mask=mask, preview=preview,
            preview_mask=preview_mask, labels=labels, people=int(labels.max()),
        )  # fmt: skip
        with self._lock:
            self._photos[photo.id] = photo
            while len(self._photos) > self.config.keep_photos:
                self._photos.popitem(last=False)
        return photo

    def _segment(self, image: Tensor) -> tuple[Tensor, Tensor | None]:
        """The mask exactly as ``dof seg`` makes it, (1, 1, H, W) on the CPU; with a segmenter
        that detects people (``Segmenter.detects_people``), also its label map (1, 1, H, W).
        Through dof-seg's public contract, ``Segmenter.segment_instances``."""
        mask, labels = self.segmenter.segment_instances(image[0])  # (1, H, W) each
        mask = mask[None].clamp(0, 1).float().cpu()
        if labels is None or not self.segmenter.detects_people:
            return mask, None
        return mask, labels[None].cpu()

    def _preview_copies(self, rgb: RGB, mask: Tensor) -> tuple[Tensor, Tensor]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.config.preview_size / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if scale == 1.0:
            return image_to_tensor(rgb), mask
        small = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        preview_mask = F.interpolate(mask, size=size[::-1], mode="bilinear", antialias=True)
        return image_to_tensor(np.array(small)), preview_mask.clamp(0, 1)

    def get(self, photo_id: str) -> Photo:
        """The open photo ``photo_id``.

        Raises:
            NotOpenError: it was never opened or has been dropped for newer ones.
        """
        with self._lock:
            photo = self._photos.get(photo_id)
        if photo is None:
            keep = self.config.keep_photos
            raise NotOpenError(
                f"this photo is no longer open (the studio keeps {keep}); open it again"
            )
        return photo

    def close(self) -> None:
        """Forget every photo."""
        with self._lock:
            self._photos.clear()

    def pick(self, photo: Photo, x: float, y: float) -> int:
        """The person at (x, y), given as fractions of the width and height; 0 for nobody."""
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise StudioError(f"the point must lie on the photo (0..1); got x={x}, y={y}")
        h, w = photo.labels.shape[-2:]
        reach = max(2, round(0.015 * max(h, w)))  # a finger's width on a phone-sized view
        column, row = min(w - 1, int(x * w)), min(h - 1, int(y * h))
        return dof_seg.person_at(photo.preview_mask, photo.labels, row, column, reach=reach)

    # -- settings ---------------------------------------------------------------------------

    def radius_range(self, photo: Photo, method: str) -> tuple[float, float]:
        """(default, largest) radius of ``method`` for this photo, in full-size pixels."""
        height, width = photo.size
        if method == GENERATOR:  # the learned aperture at this size; 0 for a painting generator
            if not self.generator_info.has_map:
                return 0.0, 0.0
            aperture = float(self.generator.aperture_at(height, width))  # type: ignore[operator]
            return aperture, math.ceil(APERTURE_MAX_FACTOR * aperture)
        default = dof_smooth.default_radius(method, height, width)
        if method == "lens":
            return default, max(default, math.ceil(LENS_MAX_FRACTION * max(height, width)))
        return default, KERNEL_MAX_RADIUS

    def check(
        self, photo: Photo, settings: RenderSettings, *, full: bool = False
    ) -> RenderSettings:
        """``settings`` if they fit this photo; else a StudioError saying what is allowed.

        With ``full``, also the memory budget of a full-size render (the check the render
        itself makes, before any work): dof_io.MemoryBudgetError, dof_smooth.MemoryBudgetError
        or dof_gan.MemoryBudgetError say "too large for the memory budget".
        """
        if settings.method not in self.methods:
            raise StudioError(
                f"unknown method {settings.method!r}; valid: {', '.join(self.methods)}"
            )
        if settings.radius is not None:
            _, largest = self.radius_range(photo, settings.method)
            if not (math.isfinite(settings.radius) and 0 <= settings.radius <= largest):
                raise StudioError(
                    f"radius must be between 0 and {largest:g}; got {settings.radius}"
                )
        if not (math.isfinite(settings.highlights) and 0 <= settings.highlights <= MAX_HIGHLIGHTS):
            raise StudioError(
                f"highlights must be between 0 and {MAX_HIGHLIGHTS:g}; got {settings.highlights}"
            )
        unknown = sorted((settings.people or frozenset()) - set(range(1, photo.people + 1)))
        if unknown:
            raise StudioError(f"no person {unknown[0]} in this photo ({photo.people} found)")
        if full:
            self._check_memory(photo, settings.method)
        return settings

    def _check_memory(self, photo: Photo, method: str) -> None:
        """The budget of a full-size render: what the studio holds, then the method's own rule
        (``dof_gan.check_translate_memory`` or ``dof_smooth.check_blur_memory``)."""
        height, width = photo.size
        budget = self.config.max_memory or None
        held = dof_io.check_memory_size(height, width, bytes_per_pixel=RENDER_BYTES_PER_PIXEL,
                                        budget=budget, what=f"{method} render",
                                        name=photo.name)  # fmt: skip
        rest = None if budget is None else budget - held
        if method == GENERATOR:
            from dof_gan import check_translate_memory

            check_translate_memory(self.generator, height, width, rest)
        else:
            dof_smooth.check_blur_memory(method, height, width, rest)

    # -- rendering --------------------------------------------------------------------------

    def subject(self, photo: Photo, people: frozenset[int] | None, *, full: bool) -> Tensor:
        """The mask of the chosen people, (1, 1, H, W) at full size or (1, 1, h, w) preview."""
        mask = photo.mask if full else photo.preview_mask
        if people is None:
            return mask
        labels = photo.labels
        if full:  # the people map is made at preview size; owners change between people only
            labels = F.interpolate(labels.float(), size=photo.size, mode="nearest").long()
        return dof_seg.select_people(mask, labels, people)

    def _render(
        self, photo: Photo, image: Tensor, subject: Tensor, s: RenderSettings, *, full: bool
    ) -> Tensor:
        """Preview or full-size render; a full-size one within the memory budget (generators
        tile, blurs refuse what would not fit) less what the studio holds besides."""
        scale = image.shape[-1] / photo.size[1]
        device = self.config.device
        budget = None
        if full and self.config.max_memory:
            budget = self.config.max_memory - RENDER_BYTES_PER_PIXEL * photo.size[0] * photo.size[1]
        with torch.inference_mode():
            if s.method == GENERATOR:
                return self._generate(photo, image.to(device), subject.to(device), s, budget)
            radius = s.radius if s.radius is not None else self.radius_range(photo, s.method)[0]
            return dof_smooth.portrait_blur(
                image.to(device), subject.to(device), s.method, radius * scale,
                highlights=s.highlights, max_memory=budget,
            )  # fmt: skip

    def _generate(
        self, photo: Photo, image: Tensor, subject: Tensor, s: RenderSettings, budget: int | None
    ) -> Tensor:
        """The GAN. A defocus generator draws its own map, scaled by the slider (the radius
        over its learned aperture), with the chosen people forced into focus and the others
        forced out of it; a painting generator gets the chosen people pasted back (eq. 13)."""
        from dof_gan import translate

        if not self.generator_info.has_map:
            return translate(self.generator, image, mask=subject, overlay=True, max_memory=budget)
        prior = None
        if self.prior is not None:  # the segmenter's mask, as the generator was trained with it
            whole = photo.mask if self.prior is self.segmenter else self.prior(image)
            prior = F.interpolate(whole.to(image.device), size=image.shape[-2:], mode="bilinear")
        default, _ = self.radius_range(photo, GENERATOR)
        scale = 1.0 if s.radius is None or default == 0 else s.radius / default
        chosen = s.people is not None
        everyone = photo.mask if image.shape[-2:] == photo.mask.shape[-2:] else photo.preview_mask
        others = (everyone.to(image.device) - subject).clamp(0, 1) if chosen else None
        return translate(self.generator, image, prior=prior, max_memory=budget, aperture=scale,
                         focus=subject if chosen else None, blur=others,
                         highlights=s.highlights)  # fmt: skip

    def preview(self, photo: Photo, settings: RenderSettings) -> bytes:
        """The render of the preview copy, as JPEG bytes."""
        settings = self.check(photo, settings)
        subject = self.subject(photo, settings.people, full=False)
        with torch_threads(self.config.preview_threads):
            began = time.perf_counter()
            out = self._render(photo, photo.preview, subject, settings, full=False)
            pixels = photo.preview.shape[-1] * photo.preview.shape[-2]
            self._seconds_per_pixel[settings.method] = (time.perf_counter() - began) / pixels
        return dof_io.encode_rgb(tensor_to_image(out), ".jpg", quality=90)

    def original(self, photo: Photo) -> bytes:
        """The preview copy as it is (the "before"), as JPEG bytes."""
        return dof_io.encode_rgb(tensor_to_image(photo.preview), ".jpg", quality=90)

    def overlay(self, photo: Photo, people: frozenset[int] | None) -> bytes:
        """The people as a tint to lay over the preview: RGBA PNG, chosen people in blue, the
        others in orange, opacity following the soft mask."""
        labels = photo.labels[0, 0].numpy()
        chosen = (
            np.ones_like(labels, dtype=bool) if people is None else np.isin(labels, list(people))
        )
        rgb = np.where(chosen[..., None], CHOSEN_TINT, OTHER_TINT)
        alpha = np.rint(photo.preview_mask[0, 0].numpy() * OVERLAY_OPACITY).astype(np.uint8)
        image = Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), mode="RGBA")
        return _png(image)

    def render_full(
        self, photo: Photo, settings: RenderSettings, fmt: str, progress: Progress
    ) -> bytes:
        """The full-size result as the bytes of a ``fmt`` file (``png`` or ``jpg``).

        ``progress`` hears of each stage as it starts (subject, render, encode), with the time
        the render is expected to take from the last preview's speed, when there was one.

        Raises:
            StudioError: settings that do not fit the photo; MemoryBudgetError (dof-io's,
                dof-smooth's or dof-gan's): too large for ``max_memory``, before any work.
        """
        settings = self.check(photo, settings, full=True)
        suffix, _ = download_format(fmt)
        with torch_threads(self.config.render_threads):
            progress("subject", 0.0, 0.05, None)
            subject = self.subject(photo, settings.people, full=True)
            rate = self._seconds_per_pixel.get(settings.method)  # a guess: threads may differ
            expected = rate * photo.rgb.shape[0] * photo.rgb.shape[1] if rate else None
            progress("render", 0.05, 0.85, expected)
            image = image_to_tensor(photo.rgb)
            out = tensor_to_image(self._render(photo, image, subject, settings, full=True))
            del image, subject
        progress("encode", 0.85, 1.0, None)
        return dof_io.encode_rgb(out, suffix)

    def info(self, photo: Photo) -> dict[str, Any]:
        """What the page needs to lay out its controls for ``photo``."""
        height, width = photo.size
        ranges = {m: self.radius_range(photo, m) for m in self.methods}
        return {
            "id": photo.id,
            "name": photo.name,
            "width": width,
            "height": height,
            "preview_width": photo.preview.shape[-1],
            "preview_height": photo.preview.shape[-2],
            "people": photo.people,
            "methods": self.methods,
            "radius": {m: {"default": d, "max": top} for m, (d, top) in ranges.items()},
        }


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
