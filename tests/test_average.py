import pytest
import torch

from portraitnet.training.average import average_weights, uniform_average
from portraitnet.model.network import PortraitNet


def test_average_of_two_models_is_their_midpoint_and_keeps_integer_buffers():
    torch.manual_seed(0)
    first, second = PortraitNet().state_dict(), PortraitNet().state_dict()
    second = {k: v + 1 if v.is_floating_point() else v + 5 for k, v in second.items()}
    averaged = average_weights(first, second, 0.25)
    name = "mask_head.weight"
    assert torch.allclose(averaged[name], 0.75 * first[name] + 0.25 * second[name])
    counter = "encoder.stem.1.num_batches_tracked"
    assert averaged[counter] == second[counter] and averaged[counter].dtype == torch.long
    model = PortraitNet()
    model.load_state_dict(averaged)  # a complete state dict of the same network
    assert torch.equal(average_weights(first, second, 0.0)[name], first[name].float())


def test_average_refuses_other_networks_and_weights_outside_0_1():
    weights = PortraitNet().state_dict()
    with pytest.raises(ValueError, match="same layers"):
        average_weights(weights, {k: v for k, v in weights.items() if not k.startswith("edge_head")}, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        average_weights(weights, weights, 1.5)


def test_uniform_average_gives_each_model_an_equal_share():
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(PortraitNet().state_dict())
    averaged = uniform_average(models)
    for name in ("mask_head.weight", "encoder.stem.0.weight"):
        assert torch.allclose(averaged[name], sum(model[name] for model in models) / 3, atol=1e-7)
    assert torch.equal(uniform_average(models[:1])[name], models[0][name])
    with pytest.raises(ValueError, match="no models"):
        uniform_average([])
