"""coursekit.training.checkpoint: atomic writes, safe loads, clear errors."""

import os
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from coursekit.training._atomic import remove_leftovers, write_json
from coursekit.training.checkpoint import load_checkpoint, save_checkpoint


def _trained_pair():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    return model, opt


def test_round_trip_restores_weights_optimizer_state_and_extra_state(tmp_path):
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=3, history={"loss": [0.5]})
    fresh = nn.Linear(4, 3)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    state = load_checkpoint(path, fresh, fresh_opt)
    assert state == {"epoch": 3, "history": {"loss": [0.5]}}
    assert torch.equal(fresh.weight, model.weight) and torch.equal(fresh.bias, model.bias)
    momentum = [s["momentum_buffer"] for s in fresh_opt.state.values()]
    expected = [s["momentum_buffer"] for s in opt.state.values()]
    assert all(torch.equal(a, b) for a, b in zip(momentum, expected, strict=True))


def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=1)
    before = path.read_bytes()

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, opt, epoch=2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.pt"]  # no temporary file left behind
    assert load_checkpoint(path, nn.Linear(4, 3))["epoch"] == 1


def test_truncated_checkpoint_raises_value_error_naming_the_file(tmp_path):
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path / "c.pt", model, opt)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"c\.pt is not a readable checkpoint"):
        load_checkpoint(path, nn.Linear(4, 3))


class _Payload:
    """A pickle that would create a file when unpickled, if the loader ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = str(tmp_path / "code-ran")
    path = tmp_path / "evil.pt"
    torch.save({"format": "coursekit-checkpoint-1", "model": _Payload(marker)}, path)
    with pytest.raises(ValueError, match=r"evil\.pt is not a readable checkpoint"):
        load_checkpoint(path, nn.Linear(4, 3))
    assert not os.path.exists(marker)


def test_plain_pickle_is_refused(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"weight": [1, 2, 3]}, protocol=2))
    with pytest.raises(ValueError, match=r"plain\.pkl is not a"):
        load_checkpoint(path, nn.Linear(4, 3))


def test_bare_state_dict_is_not_a_coursekit_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(nn.Linear(4, 3).state_dict(), path)
    with pytest.raises(ValueError, match=r"weights\.pt is not a coursekit checkpoint"):
        load_checkpoint(path, nn.Linear(4, 3))


def test_checkpoint_of_another_architecture_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"c\.pt does not fit this model"):
        load_checkpoint(path, nn.Linear(5, 3))


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "none.pt", nn.Linear(4, 3))


def test_state_that_would_not_load_back_is_refused_and_the_old_checkpoint_kept(tmp_path):
    model, opt = _trained_pair()
    path = save_checkpoint(tmp_path / "c.pt", model, opt, epoch=1)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"c\.pt .*weights_only=True.*numpy"):
        save_checkpoint(path, model, opt, epoch=2, best=np.float64(0.5))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.pt"]
    assert load_checkpoint(path, nn.Linear(4, 3))["epoch"] == 1


def test_optimizer_state_of_another_kind_of_optimizer_is_a_clear_error(tmp_path):
    model = nn.Linear(4, 3)
    adamw = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(5, 4)).sum().backward()
    adamw.step()
    path = save_checkpoint(tmp_path / "c.pt", model, adamw)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"c\.pt does not fit this optimizer.*momentum"):
        load_checkpoint(path, model, sgd)


def test_write_json_refuses_nan_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="metrics.json"):
        write_json(tmp_path / "metrics.json", {"loss": float("nan")})
    assert os.listdir(tmp_path) == []


def test_remove_leftovers_removes_only_temporary_files_of_the_names_given(tmp_path):
    names = [".checkpoint.pt.x1.tmp", ".metrics.json.tmp", ".metrics.json.y2.tmp",
             "checkpoint.pt", ".other.tmp", "notes.tmp"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_text("x")
    removed = remove_leftovers(tmp_path, ["checkpoint.pt", "metrics.json"])
    assert sorted(p.name for p in removed) == sorted(names[:3])
    assert sorted(os.listdir(tmp_path)) == sorted(names[3:])
