"""The one table of random streams: every stream distinct, within a run and across runs."""

from __future__ import annotations

import pytest

from dof_gan.seeds import STREAMS, stream_seed


def test_no_two_streams_share_a_seed_across_neighbouring_runs() -> None:
    seeds = [stream_seed(seed, stream) for seed in range(50) for stream in STREAMS]
    assert len(set(seeds)) == len(seeds)  # seed*4+5 == (seed+1)*4+1 was the old collision
    assert all(0 <= s < 2**63 for s in seeds)


def test_a_stream_seed_depends_on_the_run_seed_and_the_name_only() -> None:
    assert stream_seed(3, "G") == stream_seed(3, "G")
    assert stream_seed(3, "G") != stream_seed(3, "F") != stream_seed(4, "F")
    with pytest.raises(KeyError, match=r"unknown random stream 'D_C'.*'D_A'"):
        stream_seed(0, "D_C")
