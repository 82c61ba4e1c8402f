"""Keep the CPU paths' per-strip buffers out of mmap (glibc; a no-op with other allocators).

glibc's malloc serves every block at or above its mmap threshold with fresh mmap'd pages and
unmaps them on free, so a buffer of a few MiB allocated once per strip is page-faulted in again
for every strip: on a 12-megapixel Gaussian blur that doubles the time. glibc raises the
threshold when an mmap'd block is freed (to that block's size, up to 32 MiB); freeing one
untouched 31 MiB block once lifts it above every strip and band buffer of dof-smooth, which from
then on reuse heap pages.

(Transparent huge pages for the large outputs, as numpy asks for, were measured too: 15% faster
once warm, but the kernel's compaction made the first calls of a process three times slower, so
they are not used.)
"""

from __future__ import annotations

import torch

#: just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB), above any strip or band buffer
_PRIME_BYTES = 31 << 20


def prime_heap(device: torch.device) -> None:
    """Allocate and free one untouched 31 MiB block on the CPU (costs no page faults)."""
    if device.type == "cpu":
        block = torch.empty(_PRIME_BYTES, dtype=torch.uint8)
        del block  # freed at once: glibc lifts its mmap threshold to this size
