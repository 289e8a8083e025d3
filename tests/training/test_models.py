"""coursekit.training.models: the lecture's Net, MLP, the digits CNN, AlexNet, and layer_summary."""

import numpy as np
import pytest
import torch
from torch import nn

from coursekit.training.models import MLP, AlexNet, DigitsCNN, Net, layer_summary


def test_net_has_the_lectures_layers():
    shapes = {name: tuple(p.shape) for name, p in Net().named_parameters()}
    assert shapes == {
        "conv1.weight": (6, 3, 5, 5), "conv1.bias": (6,),
        "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
        "fc1.weight": (120, 400), "fc1.bias": (120,),
        "fc2.weight": (84, 120), "fc2.bias": (84,),
        "fc3.weight": (10, 84), "fc3.bias": (10,),
    }  # fmt: skip


def test_net_forward_equals_the_lecture_formula():
    torch.manual_seed(0)
    net, x = Net(), torch.randn(2, 3, 32, 32)
    pool, relu = nn.functional.max_pool2d, torch.relu
    h = pool(relu(nn.functional.conv2d(x, net.conv1.weight, net.conv1.bias)), 2)
    h = pool(relu(nn.functional.conv2d(h, net.conv2.weight, net.conv2.bias)), 2).flatten(1)
    h = relu(h @ net.fc1.weight.T + net.fc1.bias)
    h = relu(h @ net.fc2.weight.T + net.fc2.bias)
    assert torch.allclose(net(x), h @ net.fc3.weight.T + net.fc3.bias, atol=1e-6)


def test_mlp_puts_activation_between_linear_layers_only():
    mlp = MLP([8, 5, 4, 3], activation=nn.Tanh)
    kinds = [type(m) for m in mlp]
    assert kinds == [nn.Flatten, nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert [m.out_features for m in mlp if isinstance(m, nn.Linear)] == [5, 4, 3]


@pytest.mark.parametrize("sizes", [[10], [], [4, 0, 2], [4, 2.5]])
def test_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must be two or more positive integers"):
        MLP(sizes)


def test_alexnet_final_layer_has_num_classes_outputs():
    assert AlexNet(num_classes=10, two_gpu=False).classifier.fc8.out_features == 10


def test_digits_cnn_maps_8x8_images_to_class_scores():
    assert DigitsCNN(num_classes=7)(torch.zeros(3, 1, 8, 8)).shape == (3, 7)


@pytest.fixture(scope="module")
def alexnet():
    return AlexNet()  # 61 million parameters: build it once


def _conv_shapes(model):
    convs = model.features.named_children()
    return {n: tuple(m.weight.shape) for n, m in convs if isinstance(m, nn.Conv2d)}


def test_alexnet_kernels_match_the_paper(alexnet):
    # Krizhevsky et al. (2012), section 3.5: kernel counts and sizes per GPU half
    assert _conv_shapes(alexnet) == {
        "conv1": (96, 3, 11, 11),
        "conv2": (256, 48, 5, 5),  # each kernel sees the 48 maps of its own GPU
        "conv3": (384, 256, 3, 3),  # sees all maps of layer 2
        "conv4": (384, 192, 3, 3),
        "conv5": (256, 192, 3, 3),
    }
    full = _conv_shapes(AlexNet(two_gpu=False))
    assert full["conv2"] == (256, 96, 5, 5) and full["conv5"] == (256, 384, 3, 3)


def test_alexnet_feature_maps_are_55_27_13_6_for_227_inputs(alexnet):
    rows = {r.name: r.output_shape for r in layer_summary(alexnet, (3, 227, 227))}
    assert rows["features.conv1"] == (96, 55, 55)
    assert rows["features.pool1"] == (96, 27, 27)
    assert rows["features.pool2"] == (256, 13, 13)
    assert rows["features.pool5"] == (256, 6, 6)
    assert rows["classifier.fc8"] == (1000,)


def test_alexnet_grouped_conv_keeps_the_two_gpu_halves_apart(alexnet):
    torch.manual_seed(0)
    conv2 = alexnet.features.conv2
    x = torch.randn(1, 96, 27, 27)
    x_changed = x.clone()
    x_changed[:, :48] += 1.0  # change only the maps held by "GPU 1"
    y, y_changed = conv2(x), conv2(x_changed)
    assert not torch.allclose(y[:, :128], y_changed[:, :128])
    assert torch.equal(y[:, 128:], y_changed[:, 128:])  # "GPU 2"'s kernels never saw them


def test_alexnet_response_normalization_is_the_papers_formula(alexnet):
    torch.manual_seed(0)
    a = torch.randn(1, 96, 4, 4) * 10
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    squares = nn.functional.pad(a**2, (0, 0, 0, 0, n // 2, n // 2))  # zero maps beyond the edge
    window = torch.stack([squares[:, i : i + 96] for i in range(n)]).sum(0)
    expected = a / (k + alpha * window) ** beta
    assert torch.allclose(alexnet.features.norm1(a), expected, rtol=1e-5)


def test_alexnet_has_dropout_before_the_first_two_linear_layers_only(alexnet):
    names = [n for n, _ in alexnet.classifier.named_children()]
    assert names.index("drop6") == names.index("fc6") - 1
    assert names.index("drop7") == names.index("fc7") - 1
    assert sum(isinstance(m, nn.Dropout) for m in alexnet.modules()) == 2


@pytest.mark.parametrize(
    "model, shape",
    [(Net(), (3, 32, 32)), (MLP([64, 32, 10]), (1, 8, 8)), (DigitsCNN(), (1, 8, 8))],
)
def test_layer_summary_adds_up_to_the_model(model, shape):
    rows = layer_summary(model, shape)
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    assert all(r.neurons == torch.Size(r.output_shape).numel() for r in rows)
    assert rows[-1].output_shape == tuple(model.eval()(torch.zeros(1, *shape)).shape[1:])


def test_layer_summary_leaves_the_model_as_it_found_it():
    model = DigitsCNN().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layer_summary(model, (1, 8, 8))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("sizes", [[True, 2], [4, np.int64(0)], 4])
def test_mlp_refuses_bool_and_zero_sizes(sizes):
    # True used to pass as a width of 1
    with pytest.raises(ValueError, match="sizes must be two or more positive integers"):
        MLP(sizes)


def test_mlp_accepts_numpy_integer_sizes():
    assert [m.out_features for m in MLP(np.array([6, 3])) if isinstance(m, nn.Linear)] == [3]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: DigitsCNN(num_classes=0), "num_classes must be a positive integer"),
        (lambda: DigitsCNN(dropout=float("nan")), "dropout must be"),
        (lambda: DigitsCNN(dropout=1.5), "dropout must be"),
        (lambda: AlexNet(num_classes=True), "num_classes must be an integer"),
        (lambda: AlexNet(num_classes=10, two_gpu="yes"), "two_gpu must be True or False"),
    ],
)
def test_constructors_refuse_bad_arguments_naming_them(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("shape", [(3, 0, 32), (3, 32.5, 32), (True, 8, 8), 8])
def test_layer_summary_refuses_a_malformed_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape must be"):
        layer_summary(Net(), shape)


def test_layer_summary_refuses_something_that_is_not_a_model():
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        layer_summary(lambda x: x, (3, 32, 32))
