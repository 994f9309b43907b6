import json
import shutil
from pathlib import Path

import pytest

from workers.engine.errors import EngineError
from workers.engine.modelio import format_prompt, load_model, pick_device, weights_sha256


def test_load_model_cpu_fp32_left_padding(tiny_model_dir: Path) -> None:
    import torch

    loaded = load_model(tiny_model_dir, device="cpu")
    assert loaded.device.type == "cpu"
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.tokenizer.pad_token is not None
    assert loaded.tokenizer.padding_side == "left"
    assert not loaded.model.training
    assert loaded.path == tiny_model_dir


def test_pick_device_matches_cuda_availability() -> None:
    import torch

    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_missing_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="model directory not found"):
        load_model(tmp_path / "nope")


def test_dir_without_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(EngineError, match="no config.json"):
        load_model(tmp_path)


def test_dir_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(EngineError, match="no model weights"):
        load_model(tmp_path)


def test_corrupt_weights_are_a_clear_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(EngineError, match="cannot load model"):
        load_model(broken, device="cpu")


def test_weights_sha256_is_stable_and_sensitive(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = weights_sha256(tiny_model_dir)
    assert first == weights_sha256(tiny_model_dir)
    assert len(first) == 64
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(data))
    assert weights_sha256(copy) != first


def test_format_prompt_plain_without_chat_template(tiny_loaded) -> None:
    assert format_prompt(loaded_tok := tiny_loaded.tokenizer, "Hello") == "Hello"
    assert not getattr(loaded_tok, "chat_template", None)


def test_format_prompt_uses_chat_template_when_present(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"
    assert format_prompt(tok, "Hello") == "<|user|>Hello<|assistant|>"
