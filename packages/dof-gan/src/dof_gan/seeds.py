"""Every random stream of a training run, derived from its one ``seed`` in one named table.

Each stream gets a seed of its own from :class:`numpy.random.SeedSequence` (the run's seed as
entropy, the stream's number as spawn key), so streams never share draws, neither within a run
nor across runs: ``seed * 4 + 5`` (the old pool_A seed) was also ``(seed + 1) * 4 + 1`` (the
next run's G). A new stream takes the next free number; existing numbers never change, so the
streams of old seeds stay what they were.
"""

from __future__ import annotations

import numpy as np

#: stream name -> spawn key. G: A -> B and F: B -> A initial weights; D_A, D_B likewise;
#: pool_A/pool_B: which stored fake each image pool returns; planner: the epochs' pairing,
#: crops and flips; vgg: random VGG weights for tests (``--vgg-weights none``); augment: what
#: D_B's augmentation draws (``--d-augment``).
STREAMS: dict[str, int] = {
    "G": 1,
    "F": 2,
    "D_A": 3,
    "D_B": 4,
    "pool_A": 5,
    "pool_B": 6,
    "planner": 7,
    "vgg": 8,
    "augment": 9,
}


def stream_seed(seed: int, stream: str) -> int:
    """The seed of ``stream`` (a key of :data:`STREAMS`) in the run seeded with ``seed`` (>= 0).

    Returns:
        An int in [0, 2**63), for ``torch.Generator().manual_seed``.

    Raises:
        KeyError: for a stream that is not in the table (the message lists the valid ones).
    """
    if stream not in STREAMS:
        raise KeyError(f"unknown random stream {stream!r}; expected one of {sorted(STREAMS)}")
    sequence = np.random.SeedSequence(seed, spawn_key=(STREAMS[stream],))
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))
