"""The CUDA paths of coursekit.training.train, and the GPU chapter's skipped examples.

Skipped without an NVIDIA GPU; ``make gpu-check`` runs them (``pytest -m cuda tests``).
"""

import subprocess
import sys

import pytest
import torch
from torch import nn

from bookhooks.examples import ROOT
from coursekit.training.checkpoint import load_checkpoint, save_checkpoint
from coursekit.training.data import synthetic_images
from coursekit.training.device import resolve_device
from coursekit.training.models import Net
from coursekit.training.train import evaluate, fit

NO_CUDA = not torch.cuda.is_available()
needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(NO_CUDA, reason="needs a CUDA GPU")]
pytestmark = needs_cuda
PAGE = ROOT / "docs" / "training" / "gpu-and-distributed.md"


@pytest.fixture(scope="module")
def cifar_like():
    return synthetic_images(2048, (3, 32, 32), num_classes=10, seed=0)


def _net():
    torch.manual_seed(0)
    return Net()


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda"


def test_fit_on_cuda_with_bf16_autocast_learns(cifar_like):
    model = _net()
    # Adam: SGD's long plateau on this data ends at a different epoch under bf16 rounding
    history = fit(model, cifar_like, epochs=3, batch_size=64, lr=1e-3, optimizer="adam",
                  device="cuda", progress=False)  # fmt: skip
    assert next(model.parameters()).is_cuda
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert evaluate(model, cifar_like)["accuracy"] > 0.9


@pytest.mark.parametrize("compile", [False, True])
def test_fast_path_matches_the_dataloader_path_on_cuda(cifar_like, compile):
    slow, fast = _net(), _net()
    args = dict(epochs=2, batch_size=256, lr=0.01, device="cuda", amp=False, progress=False)
    h_slow = fit(slow, cifar_like, **args)
    h_fast = fit(fast, cifar_like, fast=True, compile=compile, **args)
    # same data order and updates; only floating-point summation order may differ
    assert h_fast["loss"] == pytest.approx(h_slow["loss"], rel=1e-2)
    for p, q in zip(slow.parameters(), fast.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-3)


def test_graphed_step_trains_exactly_as_the_ordinary_step():
    from coursekit.training.cuda_graphs import GraphedStep

    def model_and_step():
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
            nn.Linear(8 * 30 * 30, 10),
        ).cuda()  # fmt: skip
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        total = torch.zeros((), device="cuda")

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total.add_(loss.detach())

        return model, step, total

    g = torch.Generator(device="cuda").manual_seed(1)
    batches = [(torch.rand(n, 3, 32, 32, device="cuda", generator=g),
                torch.randint(0, 10, (n,), device="cuda", generator=g))
               for n in [64] * 8 + [20] + [64] * 3]  # fmt: skip
    eager, eager_step, eager_total = model_and_step()
    graphed, plain_step, graphed_total = model_and_step()
    graphed_step = GraphedStep(plain_step)
    for x, y in batches:
        eager_step(x, y)
        graphed_step(x, y)
    assert graphed_step.graph is not None  # recorded after three ordinary steps, then replayed
    assert torch.allclose(graphed_total, eager_total, rtol=1e-5)
    pairs = zip(eager.state_dict().items(), graphed.state_dict().values(), strict=True)
    for (name, a), b in pairs:
        assert torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5), name  # BatchNorm too


def test_fast_path_is_channels_last_on_cuda(cifar_like):
    model = _net()
    fit(model, cifar_like, epochs=1, batch_size=256, lr=0.01, device="cuda", fast=True,
        progress=False)  # fmt: skip
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_bf16_evaluation_is_close_to_fp32(cifar_like):
    model = _net().cuda()
    fit(model, cifar_like, epochs=1, batch_size=128, lr=0.01, device="cuda", progress=False)
    bf16, fp32 = evaluate(model, cifar_like, amp=True), evaluate(model, cifar_like, amp=False)
    assert bf16["loss"] == pytest.approx(fp32["loss"], rel=0.05)


def test_checkpoint_written_on_cuda_loads_on_cpu(tmp_path):
    model = _net().cuda()
    path = save_checkpoint(tmp_path / "c.pt", model, epoch=1)
    cpu_model = Net()
    assert load_checkpoint(path, cpu_model)["epoch"] == 1
    for p, q in zip(model.parameters(), cpu_model.parameters(), strict=True):
        assert torch.equal(p.cpu(), q)


def test_cli_trains_on_cuda(tmp_path):
    from coursekit.training.cli import main

    main(["train", "--model", "net", "--data", "synthetic", "--limit", "512", "--epochs", "1",
          "--device", "cuda", "--fast", "--no-progress", "--out", str(tmp_path)])  # fmt: skip
    assert (tmp_path / "metrics.json").exists()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_torchrun_with_nccl_on_two_gpus(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "coursekit", "train", "--model", "net", "--data", "synthetic", "--limit", "512",
        "--epochs", "1", "--device", "cuda", "--no-progress", "--out", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "metrics.json").exists()


def test_gpu_chapter_examples_run_including_the_skipped_ones(tmp_path, monkeypatch):
    # the page's CUDA blocks are skipped on CPU machines; here every block runs, in order
    from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

    from sybil import Sybil
    from sybil.evaluators.doctest import NUMBER
    from sybil.parsers.markdown import PythonCodeBlockParser

    monkeypatch.setenv("COURSEKIT_FIGURE_DIR", str(tmp_path))
    flags = ELLIPSIS | NORMALIZE_WHITESPACE | NUMBER
    everything = Sybil(parsers=[PythonCodeBlockParser(doctest_optionflags=flags)])
    examples = list(everything.parse(PAGE).examples())
    for example in examples:
        example.evaluate()
    assert len(examples) > 5
