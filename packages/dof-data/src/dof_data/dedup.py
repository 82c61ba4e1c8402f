"""Deduplication: mark, never delete.

Rules, each of which can be turned off (:class:`DedupConfig`):

- ``exact``: the same bytes (sha256), across domains too.
- ``paper``: the paper's rule, same width, height and byte size within a domain (it catches the
  same file with other metadata, which sha256 misses).
- ``near``: perceptual hashes (``imagehash.phash``, 64 bits) within a Hamming distance, e.g. a
  photo re-uploaded at another size or re-encoded.
- ``small-file``: the paper author's filter, files of at most 100 KB (mostly thumbnails and
  heavily compressed uploads).

Of a group of duplicates the largest photo (pixels, then bytes, then id) is kept. A photo
marked ``exact`` or ``paper`` is not also reported as ``near``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dof_data.errors import ConfigError
from dof_data.manifest import Manifest, Mark, PhotoRow
from dof_data.report import StageReport

STAGE = "dedup"
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class DedupConfig:
    """Which rules run. ``None`` or ``False`` turns a rule off.

    Attributes:
        exact: mark byte-identical files (sha256).
        paper_rule: mark same width, height and bytes within a domain.
        near_threshold: mark phash Hamming distance <= this (0-64; 6 by default). Distinct
            photos of the coco-person set are 20 or more apart; a re-encoded resize is 0-4.
        small_bytes: mark files of at most this many bytes (102,400 = 100 KB).
    """

    exact: bool = True
    paper_rule: bool = True
    near_threshold: int | None = 6
    small_bytes: int | None = 100 * 1024

    def __post_init__(self) -> None:
        if self.near_threshold is not None and not 0 <= self.near_threshold <= 64:
            raise ConfigError(
                f"near_threshold is a Hamming distance of 64-bit hashes, 0-64; got "
                f"{self.near_threshold}"
            )
        if self.small_bytes is not None and self.small_bytes < 0:
            raise ConfigError(f"small_bytes must be >= 0; got {self.small_bytes}")


def rank(row: PhotoRow) -> tuple[int, int, str]:
    """Sort key: the best copy first (most pixels, then most bytes, then smallest id)."""
    return (-(row.width or 0) * (row.height or 0), -(row.bytes or 0), row.id)


def hamming(hashes: npt.NDArray[np.uint64], one: np.uint64) -> npt.NDArray[np.uint8]:
    """Hamming distances between 64-bit hashes ``(N,)`` and one hash; ``(N,)`` in 0..64."""
    xor = np.bitwise_xor(hashes, one)  # (N,)
    counts: npt.NDArray[np.uint8] = (
        _POPCOUNT[xor.view(np.uint8)].reshape(-1, 8).sum(axis=1, dtype=np.uint8)
    )
    return counts


def phash_distance(a: str, b: str) -> int:
    """Hamming distance between two phash hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _groups(
    rows: list[PhotoRow], key: Callable[[PhotoRow], Hashable], rule: str, why: str
) -> list[Mark]:
    """Mark all but the best of each group of rows sharing ``key``."""
    groups: dict[Hashable, list[PhotoRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    marks = []
    for members in groups.values():
        best, *rest = sorted(members, key=rank)
        marks += [
            Mark(row.id, STAGE, rule, f"{why} as {best.id} (domain {best.domain})", best.id)
            for row in rest
        ]
    return marks


def near_duplicates(rows: list[PhotoRow], threshold: int) -> list[Mark]:
    """Greedy by rank: each unmarked photo marks every later one within ``threshold``."""
    order = sorted((row for row in rows if row.phash), key=rank)
    hashes = np.array([int(row.phash or "0", 16) for row in order], dtype=np.uint64)
    taken = np.zeros(len(order), dtype=bool)
    marks = []
    for i, best in enumerate(order):
        if taken[i]:
            continue
        distance = hamming(hashes[i + 1 :], hashes[i])
        for j in np.nonzero((distance <= threshold) & ~taken[i + 1 :])[0]:
            row = order[i + 1 + j]
            taken[i + 1 + j] = True
            marks.append(
                Mark(
                    row.id,
                    STAGE,
                    "near",
                    f"near duplicate of {best.id} (phash distance {distance[j]} <= {threshold}; "
                    f"kept {best.width}x{best.height}, this is {row.width}x{row.height})",
                    best.id,
                )
            )
    return marks


def find_duplicates(rows: list[PhotoRow], config: DedupConfig) -> list[Mark]:
    """Every dedup mark for ``rows`` (downloaded photos), without touching the manifest."""
    marks: list[Mark] = []
    if config.exact:
        marks += _groups(
            [r for r in rows if r.sha256], lambda r: r.sha256, "exact", "same bytes (sha256)"
        )
    if config.paper_rule:
        done = {mark.photo_id for mark in marks}
        marks += _groups(
            [r for r in rows if r.id not in done],
            lambda r: (r.domain, r.width, r.height, r.bytes),
            "paper",
            "same width, height and byte size (the paper's rule)",
        )
    if config.near_threshold is not None:
        done = {mark.photo_id for mark in marks}
        marks += near_duplicates([r for r in rows if r.id not in done], config.near_threshold)
    if config.small_bytes is not None:
        marks += [
            Mark(
                r.id,
                STAGE,
                "small-file",
                f"{r.bytes:,} bytes <= {config.small_bytes:,} (the author's filter)",
            )
            for r in rows
            if r.bytes is not None and r.bytes <= config.small_bytes
        ]
    return sorted(marks, key=lambda m: (m.photo_id, m.rule))


def dedup(manifest: Manifest, config: DedupConfig | None = None) -> StageReport:
    """Mark duplicates among the downloaded photos; replaces the previous dedup marks.

    Returns:
        what was marked and why. Files stay where they are; ``status`` becomes ``removed``.
    """
    config = config or DedupConfig()
    rows = manifest.downloaded()
    marks = find_duplicates(rows, config)
    manifest.replace_marks(STAGE, marks)
    return StageReport(STAGE, len(rows), marks)
