"""The CUDA paths of coursekit.train, and the GPU chapter's skipped examples.

Skipped without an NVIDIA GPU; ``make gpu-check`` runs them (``pytest -m cuda tests``).
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from coursekit.checkpoint import load_checkpoint, save_checkpoint
from coursekit.data import synthetic_images
from coursekit.device import resolve_device
from coursekit.models import Net
from coursekit.train import evaluate, fit

CUDA = not torch.cuda.is_available()
needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(CUDA, reason="needs a CUDA GPU")]
pytestmark = needs_cuda
PAGE = Path(__file__).resolve().parent.parent / "docs" / "training" / "gpu-and-distributed.md"


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
    history = fit(model, cifar_like, epochs=3, batch_size=64, lr=0.01, device="cuda",
                  progress=False)  # fmt: skip
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
    for p, q in zip(slow.parameters(), fast.parameters()):
        assert torch.allclose(p, q, atol=1e-3)


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
    for p, q in zip(model.parameters(), cpu_model.parameters()):
        assert torch.equal(p.cpu(), q)


def test_cli_trains_on_cuda(tmp_path):
    from coursekit.cli import main

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
