"""The three loss terms of PortraitNet: cross-entropy, the boundary focal loss (and its label, the mask's
contour), the consistency KL; and ours: a soft IoU per image."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

EDGE_THICKNESS = 4


def edge_from_mask(mask: np.ndarray, thickness: int = EDGE_THICKNESS) -> np.ndarray:
    """The boundary ground truth: the mask's contours drawn `thickness` px wide, uint8 in {0, 1}."""
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    edge = np.zeros(mask.shape, dtype=np.uint8)
    cv2.drawContours(edge, contours, -1, 1, thickness)
    return edge


def weighted_mean(values: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of per-pixel values over the pixels `weight` counts (all of them when None)."""
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp_min(1)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over pixels (those `weight` counts) of -(1 - p_t)^gamma * log p_t; gamma = 0 is plain cross-entropy.

    logits (B, C, H, W), target (B, H, W) class indices.
    """
    log_probs = F.log_softmax(logits.float(), dim=1)
    log_pt = log_probs.gather(1, target.long().unsqueeze(1)).squeeze(1)  # (B, H, W)
    focus = (1 - log_pt.exp()).pow(gamma) if gamma else 1.0
    return weighted_mean(-focus * log_pt, weight)


def consistency_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                     temperature: float = 1.0) -> torch.Tensor:
    """KL(q_teacher || q_student) * T^2 with q = softmax(logits / T), summed over classes, averaged over pixels.

    The teacher (the prediction on the original image A) is detached: only the texture-changed branch A'
    is pulled toward it.
    """
    teacher = F.softmax(teacher_logits.detach().float() / temperature, dim=1)
    student_log = F.log_softmax(student_logits.float() / temperature, dim=1)
    kl = (teacher * (torch.log(teacher.clamp_min(1e-12)) - student_log)).sum(dim=1)  # (B, H, W)
    return kl.mean() * temperature ** 2
