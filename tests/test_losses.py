import math

import pytest
import torch
import torch.nn.functional as F

from portraitnet.training.losses import consistency_loss, focal_loss


def test_focal_with_gamma_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(3, 2, 5, 7), torch.randint(0, 2, (3, 5, 7))
    assert focal_loss(logits, target, gamma=0) == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)


def test_focal_matches_a_hand_computed_value():
    # one pixel, logits (0, ln 3): p = (0.25, 0.75); target 1 -> -(0.25)^2 * ln 0.75; target 0 -> -(0.75)^2 * ln 0.25
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 2, 1, 1).repeat(1, 1, 1, 2)
    target = torch.tensor([[[1, 0]]])
    expected = (-(0.25 ** 2) * math.log(0.75) - (0.75 ** 2) * math.log(0.25)) / 2
    assert focal_loss(logits, target, gamma=2).item() == pytest.approx(expected, rel=1e-5)


def test_focal_down_weights_easy_pixels():
    logits = torch.tensor([0.0, 4.0]).view(1, 2, 1, 1)  # confident and right
    target = torch.ones(1, 1, 1, dtype=torch.long)
    assert focal_loss(logits, target, gamma=2) < 0.01 * focal_loss(logits, target, gamma=0)


def test_consistency_is_zero_for_identical_predictions_and_positive_otherwise():
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 4, 4)
    assert consistency_loss(logits, logits.clone()).item() == pytest.approx(0.0, abs=1e-7)
    assert consistency_loss(logits, logits + torch.randn_like(logits)).item() > 0


def test_consistency_matches_a_hand_computed_value_with_temperature():
    # teacher logits (0, ln 3) at T=1 -> (0.25, 0.75); student (0, 0) -> (0.5, 0.5)
    teacher = torch.tensor([0.0, math.log(3.0)]).view(1, 2, 1, 1)
    student = torch.zeros(1, 2, 1, 1)
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert consistency_loss(teacher, student, 1.0).item() == pytest.approx(expected, rel=1e-5)
    # at T=2 the teacher logits halve: (0, ln 3 / 2) -> p1 = sqrt(3) / (1 + sqrt(3)); the KL is scaled by T^2
    p1 = math.sqrt(3) / (1 + math.sqrt(3))
    expected_t2 = 4 * ((1 - p1) * math.log((1 - p1) / 0.5) + p1 * math.log(p1 / 0.5))
    assert consistency_loss(teacher, student, 2.0).item() == pytest.approx(expected_t2, rel=1e-5)


def test_consistency_sends_no_gradient_to_the_teacher():
    teacher = torch.randn(1, 2, 3, 3, requires_grad=True)
    student = torch.randn(1, 2, 3, 3, requires_grad=True)
    consistency_loss(teacher, student).backward()
    assert teacher.grad is None and student.grad is not None
