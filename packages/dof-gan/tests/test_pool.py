from __future__ import annotations

import torch

from dof_gan import ImagePool


def test_pool_fills_then_mixes_history() -> None:
    pool = ImagePool(2, seed=0)
    first = torch.full((2, 3, 4, 4), 1.0)
    assert torch.equal(pool.query(first), first)  # filling: returned as is
    shown = [
        float(pool.query(torch.full((1, 3, 4, 4), float(i)))[0, 0, 0, 0]) for i in range(2, 30)
    ]
    from_history = [value for i, value in enumerate(shown, start=2) if value != i]
    assert 5 < len(from_history) < 23  # about half of the queries return an older fake
    assert all(value < i for i, value in enumerate(shown, start=2) if value != i)
    assert len(pool.images) == 2


def test_pool_state_round_trip_replays_the_same_draws() -> None:
    pool = ImagePool(3, seed=5)
    for i in range(4):
        pool.query(torch.full((1, 3, 2, 2), float(i)))
    copy = ImagePool(3, seed=99)
    copy.load_state_dict(pool.state_dict(), device=torch.device("cpu"))
    for i in range(10):
        batch = torch.full((2, 3, 2, 2), float(10 + i))
        assert torch.equal(pool.query(batch), copy.query(batch))


def test_pool_of_size_zero_is_a_pass_through() -> None:
    images = torch.rand(2, 3, 4, 4)
    assert torch.equal(ImagePool(0, seed=0).query(images), images)
