"""Convert a Hugging Face ``transformers.LlamaForCausalLM`` into this package's `Llama`.

The two models compute the same function, so the conversion only reads the sizes off the
Hugging Face config and copies the weights, renaming them (``model.layers.0.self_attn.q_proj``
becomes ``layers.0.attn.q_proj``). transformers is imported only when a model is converted,
so the package imports without it. The chapter "Llama 2" (``docs/language/llama.md``) checks
the logits of the two against each other.
"""

from __future__ import annotations

import torch

from coursekit.language.llama import Llama, LlamaConfig

__all__ = ["from_hf_llama"]

# Hugging Face's names for the pieces of a block, and ours
_RENAMES = {"self_attn.": "attn.", "input_layernorm.": "attn_norm.",
            "post_attention_layernorm.": "mlp_norm."}


def _unsupported(hf_config) -> list[str]:
    """What the Hugging Face config uses that `Llama` does not compute, in words."""
    found = []
    if getattr(hf_config, "attention_bias", False):
        found.append("attention_bias=True")
    if getattr(hf_config, "mlp_bias", False):
        found.append("mlp_bias=True")
    if hf_config.hidden_act != "silu":
        found.append(f"hidden_act={hf_config.hidden_act!r} (only 'silu', SwiGLU)")
    head_dim = getattr(hf_config, "head_dim", None)
    natural = hf_config.hidden_size // hf_config.num_attention_heads
    if head_dim is not None and head_dim != natural:
        found.append(f"head_dim={head_dim} (only hidden_size // num_attention_heads = "
                     f"{natural})")
    rope = dict(getattr(hf_config, "rope_parameters", None) or {})
    if rope.get("rope_type", "default") != "default":
        found.append(f"rope_type={rope['rope_type']!r} (only 'default', no rope scaling)")
    return found


def from_hf_llama(model) -> Llama:
    """The same model as a `Llama`, with a copy of the weights of a ``LlamaForCausalLM``.

    Args:
        model: a ``transformers.LlamaForCausalLM`` with SwiGLU (``hidden_act="silu"``), no
            biases, the default rotary embedding (no rope scaling) and ``head_dim`` equal to
            ``hidden_size // num_attention_heads``.

    Returns:
        A `Llama` in the model's dtype, device and mode, whose logits equal the model's; the
            global random state is left as it was.

    Raises:
        ValueError: if ``model`` is not a ``LlamaForCausalLM`` (or transformers is not
            installed), or its config uses what `Llama` does not compute, naming it.

    Examples:
        >>> import torch
        >>> from transformers import LlamaConfig, LlamaForCausalLM
        >>> from coursekit.language.hf_llama import from_hf_llama
        >>> _ = torch.manual_seed(0)
        >>> hf = LlamaForCausalLM(LlamaConfig(
        ...     vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        ...     num_attention_heads=4, num_key_value_heads=2)).eval()
        >>> ours = from_hf_llama(hf)
        >>> ids = torch.randint(0, 50, (2, 7))
        >>> with torch.no_grad():
        ...     torch.allclose(ours(ids), hf(ids).logits, atol=1e-5)
        True
    """
    try:
        from transformers import LlamaForCausalLM
    except ImportError as err:
        raise ValueError("model must be a transformers.LlamaForCausalLM, but transformers "
                         "is not installed") from err
    if not isinstance(model, LlamaForCausalLM):
        raise ValueError(f"model must be a transformers.LlamaForCausalLM, "
                         f"got {type(model).__name__}")
    c = model.config
    unsupported = _unsupported(c)
    if unsupported:
        raise ValueError(f"model must be a plain Llama, got {', '.join(unsupported)}")
    rope = dict(getattr(c, "rope_parameters", None) or {})
    config = LlamaConfig(
        vocab_size=c.vocab_size, dim=c.hidden_size, n_layers=c.num_hidden_layers,
        n_heads=c.num_attention_heads, n_kv_heads=c.num_key_value_heads,
        hidden_dim=c.intermediate_size, max_seq_len=c.max_position_embeddings,
        rope_theta=rope.get("rope_theta", getattr(c, "rope_theta", 10000.0)),
        norm_eps=c.rms_norm_eps, tie_embeddings=bool(c.tie_word_embeddings),
    )  # fmt: skip
    weight = model.lm_head.weight
    with torch.random.fork_rng(devices=[]):  # our random init is overwritten anyway
        ours = Llama(config).to(weight.device, weight.dtype)
    state = {}
    for name, value in model.state_dict().items():
        name = name.removeprefix("model.")
        for theirs, mine in _RENAMES.items():
            name = name.replace(theirs, mine)
        state[name] = value
    if config.tie_embeddings:  # one weight, which our state dict lists under both names
        state.setdefault("lm_head.weight", state["embed_tokens.weight"])
    ours.load_state_dict(state)
    return ours.train(model.training)
