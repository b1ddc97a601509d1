"""CoBi: the chunked, recomputing loss equals the naive full-matrix reference, value and gradient."""

import pytest
import torch

from srraw_model.cobi import (
    DISTANCES,
    VARIANTS,
    CoBiConfig,
    PointSet,
    cobi_points,
    cobi_rgb,
    feature_points,
)


def _grads(x, y, cfg, distance, naive):
    loss = cobi_points(
        feature_points(x, 1, 0, 12.0),
        feature_points(y, 1, 0, 12.0, 1.0),
        cfg,
        distance,
        naive=naive,
    )
    gx, gy = torch.autograd.grad(loss, (x, y))
    return loss.detach(), gx, gy


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_chunked_equals_naive(variant, distance, dtype):
    torch.manual_seed(1)
    x = torch.randn(2, 6, 9, 11, dtype=dtype, requires_grad=True)
    y = torch.randn(2, 6, 10, 12, dtype=dtype, requires_grad=True)  # M != N, target larger
    cfg = CoBiConfig(variant=variant, w_s=0.3, chunk=7)  # 99 rows: chunks of 7, a partial one
    ref = _grads(x, y, cfg, distance, naive=True)
    got = _grads(x, y, cfg, distance, naive=False)
    for a, b in zip(ref, got, strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5), (a - b).abs().max()
    assert ref[1].abs().sum() > 0  # the gradient is not trivially zero


@pytest.mark.parametrize("variant", VARIANTS)
def test_cobi_rgb_chunked_equals_naive_with_margin(variant):
    torch.manual_seed(2)
    out = torch.rand(1, 3, 24, 24, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 3, 28, 28, dtype=torch.float64)
    cfg = CoBiConfig(variant=variant, chunk=16)
    values = []
    for naive in (True, False):
        loss = cobi_rgb(out, target, cfg, patch=5, stride=2, margin=2, naive=naive)
        (grad,) = torch.autograd.grad(loss, out)
        values.append((loss.detach(), grad))
    assert torch.allclose(values[0][0], values[1][0], atol=1e-5)
    assert torch.allclose(values[0][1], values[1][1], atol=1e-5)


def test_paper_variant_is_equation_2():
    """Tiny hand-made sets: 1/N sum_i min_j (D + w_s D')."""
    p = PointSet(torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    q = PointSet(torch.tensor([[0.0], [3.0]]), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    cfg = CoBiConfig(variant="paper", w_s=0.5)
    # i=0: min(0 + .5*1, 9 + 0) = .5 ; i=1: min(1 + 0, 4 + .5) = 1  -> mean .75
    assert float(cobi_points([p], [q], cfg, "l2")) == pytest.approx(0.75)


def test_identical_images_score_best_and_spatial_term_matters():
    torch.manual_seed(3)
    img = torch.rand(1, 3, 20, 20)
    shifted = torch.roll(img, 3, dims=-1)
    cfg = CoBiConfig(variant="paper", w_s=0.5)
    same = cobi_rgb(img, img, cfg, patch=3, stride=1)
    moved = cobi_rgb(img, shifted, cfg, patch=3, stride=1)
    no_spatial = cobi_rgb(img, shifted, CoBiConfig(variant="paper", w_s=0.0), patch=3, stride=1)
    assert float(same) == pytest.approx(0.0, abs=1e-6)
    assert float(moved) > float(no_spatial) >= 0.0
    ctx = CoBiConfig(variant="contextual")
    assert float(cobi_rgb(img, img, ctx, patch=3, stride=1)) < float(
        cobi_rgb(img, torch.rand(1, 3, 20, 20), ctx, patch=3, stride=1)
    )


def test_sampling_only_when_asked():
    torch.manual_seed(4)
    x = torch.rand(1, 3, 30, 30)
    y = torch.rand(1, 3, 30, 30)
    exact = CoBiConfig(variant="paper")
    a = cobi_rgb(x, y, exact, patch=3, stride=1)
    b = cobi_rgb(x, y, exact, patch=3, stride=1)
    assert torch.equal(a, b)  # deterministic: no hidden sampling
    sampled = CoBiConfig(variant="paper", sample=5)
    g = torch.Generator().manual_seed(0)
    c = cobi_rgb(x, y, sampled, patch=3, stride=1, generator=g)
    assert not torch.equal(a, c)
