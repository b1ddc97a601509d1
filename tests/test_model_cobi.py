"""CoBi: the chunked, recomputing loss equals the naive full-matrix reference, value and gradient;
the contextual variant equals an independent reference written here from the release's formula."""

import math

import pytest
import torch
import torch.nn.functional as F

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
        feature_points(x, 1, 0, (12, 12)),
        feature_points(y, 1, 0, (12, 12), 1.0),
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


# --- contextual variant against an independent reference -----------------------------------
# Written from the formula of the original release (CX/CSFlow.py, CX_loss) and Mechrez et al.
# 2018; it uses nothing from srraw_model.cobi. Output points i (N), target points j (M):
#   d_ij   feature distance: l2 = mean over channels of the squared difference;
#          cosine = 1 - cos after centring both by the target's mean
#   s_ij   squared distance of positions, x scaled by 255 / W and y by 255 / H (W x H: output)
#   cx(d, eps)_ij = exp((1 - d_ij / (min_k d_ik + eps)) / h) / sum_k (same)   [over targets]
#   CX   = (1 - w_s) cx(d, 1e-5) + w_s cx(s, 1e-3)
#   loss = -log( 1/M sum_j max_i CX_ij )                                      [over outputs]


def _ref_points(fmap, stride, offset, margin):
    """(C, H, W) map -> (H W, C) features and (H W, 2) pixel positions (x, y), row-major."""
    _, h, w = fmap.shape
    feats, xy = [], []
    for r in range(h):
        for col in range(w):
            feats.append(fmap[:, r, col])
            xy.append((col * stride + offset - margin, r * stride + offset - margin))
    return torch.stack(feats), torch.tensor(xy, dtype=fmap.dtype)


def _ref_cx(out_map, tgt_map, stride, offset, margin, size, distance, w_s, h):
    x, x_xy = _ref_points(out_map, stride, offset, 0)
    y, y_xy = _ref_points(tgt_map, stride, offset, margin)
    if distance == "l2":
        d = ((x[:, None, :] - y[None, :, :]) ** 2).mean(-1)
    else:
        mu = y.mean(0)
        xn = (x - mu) / (x - mu).norm(dim=1, keepdim=True)
        yn = (y - mu) / (y - mu).norm(dim=1, keepdim=True)
        d = 1 - (xn[:, None, :] * yn[None, :, :]).sum(-1)
    scale = torch.tensor([255.0 / size[0], 255.0 / size[1]], dtype=x.dtype)
    s = (((x_xy[:, None, :] - y_xy[None, :, :]) * scale) ** 2).sum(-1)

    def cx(dist, eps):
        rel = dist / (dist.min(dim=1, keepdim=True).values + eps)
        weight = torch.exp((1 - rel) / h)
        return weight / weight.sum(dim=1, keepdim=True)

    combined = (1 - w_s) * cx(d, 1e-5) + w_s * cx(s, 1e-3)
    per_target = combined.max(dim=0).values  # for each target point, its best output point
    return -torch.log(per_target.mean())


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("w_s", [0.0, 0.3])
def test_contextual_equals_independent_reference(distance, w_s):
    torch.manual_seed(5)
    x = torch.randn(2, 5, 7, 9, dtype=torch.float64, requires_grad=True)  # W 9 != H 7
    y = torch.randn(2, 5, 9, 11, dtype=torch.float64, requires_grad=True)  # margin 1 a side
    size = (9, 7)
    cfg = CoBiConfig(variant="contextual", w_s=w_s, bandwidth=0.5, chunk=10)  # 63 rows: 7 chunks
    loss = cobi_points(
        feature_points(x, 1, 0, size), feature_points(y, 1, 0, size, 1.0), cfg, distance
    )
    gx, gy = torch.autograd.grad(loss, (x, y))
    ref = torch.stack([_ref_cx(x[b], y[b], 1, 0, 1, size, distance, w_s, 0.5) for b in range(2)])
    rx, ry = torch.autograd.grad(ref.mean(), (x, y))
    assert float(loss.detach()) == pytest.approx(float(ref.mean().detach()), rel=1e-9, abs=1e-12)
    assert torch.allclose(gx, rx, atol=1e-9) and torch.allclose(gy, ry, atol=1e-9)
    assert rx.abs().sum() > 0


@pytest.mark.parametrize("w_s", [0.0, 0.5])
def test_contextual_rgb_equals_independent_reference(w_s):
    torch.manual_seed(6)
    out = torch.rand(1, 3, 14, 20, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 3, 18, 24, dtype=torch.float64)  # margin 2
    cfg = CoBiConfig(variant="contextual", w_s=w_s, bandwidth=0.5, chunk=8)
    loss = cobi_rgb(out, target, cfg, patch=3, stride=2, margin=2)
    (grad,) = torch.autograd.grad(loss, out)

    def patches(img):  # (1, 3, H, W) -> (3 * 9, H', W'), 3 x 3 patches every 2 px
        cols = F.unfold(img, 3, stride=2)
        return cols.view(27, (img.shape[2] - 3) // 2 + 1, (img.shape[3] - 3) // 2 + 1)

    ref = _ref_cx(patches(out), patches(target), 2, 1.0, 2, (20, 14), "l2", w_s, 0.5)
    (ref_grad,) = torch.autograd.grad(ref, out)
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-9)
    assert torch.allclose(grad, ref_grad, atol=1e-9)


def test_contextual_counts_target_points_not_covered():
    """Both outputs copy target 0; target 1 has no output like it: CX = 1/2, loss log 2.
    (The output-side max of public ports scores this collapse as a perfect 0.)"""
    pos = torch.tensor([[0.0, 0.0], [0.5, 0.0]])
    out = PointSet(torch.tensor([[0.0], [0.0]]), pos)
    tgt = PointSet(torch.tensor([[0.0], [5.0]]), pos)
    cfg = CoBiConfig(variant="contextual", w_s=0.0, bandwidth=0.5)
    assert float(cobi_points([out], [tgt], cfg, "l2")) == pytest.approx(math.log(2), rel=1e-4)
    covered = PointSet(torch.tensor([[0.0], [5.0]]), pos)
    assert float(cobi_points([covered], [tgt], cfg, "l2")) == pytest.approx(0.0, abs=1e-4)
