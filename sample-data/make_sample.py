#!/usr/bin/env python3
"""Generate sample-data/tiny-block.safetensors, Q16's bundled sample model.

A tiny Llama-style decoder (2 layers) with synthetic, seeded weights whose
distributions resemble a trained model's, so that per-tensor int16
quantization gives visibly different SQNR per tensor:

  * mlp.down_proj is heavy-tailed (scaled Student-t),
  * one o_proj has a few outlier input channels 20-50x larger than the rest,
  * the layer norms sit around 1.0 with a few large gains,
  * the embedding is BF16, position_ids is I64 (carried through, not quantized).

Requires Python 3 and numpy only. The safetensors file is written by hand
(struct + json), and the output is byte-for-byte identical on every run:

    python3 sample-data/make_sample.py
"""

import json
import os
import struct

import numpy as np

SEED = 20261204

# Shapes. Llama's intermediate size is 8/3 * hidden; 192 * 8/3 = 512 exactly.
# (hidden 256 / intermediate 688 would make the file ~9.5 MB; these keep it ~6 MB.)
HIDDEN = 192
INTERMEDIATE = 512
VOCAB = 2048
LAYERS = 2
POSITIONS = 128

OUTLIER_LAYER = 1      # the layer whose o_proj gets outlier input channels
OUTLIER_CHANNELS = 4   # how many

OUT_NAME = "tiny-block.safetensors"

F32 = np.dtype("<f4")
BF16_BITS = np.dtype("<u2")
I64 = np.dtype("<i8")


def normal(rng, shape, std, mean=0.0):
    """float32 normal samples; the arithmetic stays in float32."""
    x = rng.standard_normal(shape, dtype=np.float32)
    return (x * np.float32(std) + np.float32(mean)).astype(F32)


def student_t(rng, shape, df, std):
    """Heavy-tailed samples: Student-t with `df` degrees of freedom, scaled so
    the population std is `std` (Var[t_df] = df / (df - 2) for df > 2)."""
    t = rng.standard_t(df, shape).astype(F32)
    return (t * np.float32(std / np.sqrt(df / (df - 2)))).astype(F32)


def norm_weight(rng, n, n_large):
    """RMSNorm gains: 1 + 0.05*N(0,1), with `n_large` channels at 2.5-6x, as
    trained models keep a few large gains on their outlier feature dims."""
    w = normal(rng, (n,), 0.05, mean=1.0)
    idx = rng.choice(n, size=n_large, replace=False)
    w[idx] = rng.uniform(2.5, 6.0, size=n_large).astype(F32)
    return w


def to_bf16_bits(x):
    """float32 -> BF16 bit patterns, rounding to nearest, ties to even.

    BF16 is the upper 16 bits of a float32. Plain truncation (>> 16) rounds
    towards zero, biasing every value; instead add 0x7FFF plus the lowest kept
    bit before shifting: below the halfway point nothing carries, above it the
    kept part goes up by one, and at exactly halfway it goes up only if it is
    odd, which makes it even. A carry out of the mantissa correctly bumps the
    exponent (and the largest finite values correctly round to infinity).
    The sum is done in uint64 so it cannot wrap. NaNs would need quieting
    instead of rounding (their payload could round to infinity), so they are
    rejected; this model has none.
    """
    x = np.asarray(x, dtype=F32)
    if not np.all(np.isfinite(x)):
        raise ValueError("non-finite value in BF16 source")
    bits = x.view("<u4").astype(np.uint64)
    lsb = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = (bits + np.uint64(0x7FFF) + lsb) >> np.uint64(16)
    return rounded.astype(BF16_BITS)


def build(rng):
    """Returns {name: (safetensors dtype, shape, little-endian bytes)}.

    Tensors are drawn in model order (the order below); changing that order
    changes every value after it, and therefore the file's sha256.
    """
    tensors = {}

    def put(name, arr, dtype="F32", shape=None):
        arr = np.ascontiguousarray(arr)
        # The bytes must be what the header says: BF16 travels as its uint16 bits.
        expected = {"F32": F32, "BF16": BF16_BITS, "I64": I64}[dtype]
        if arr.dtype != expected:
            raise TypeError(f"{name}: {arr.dtype} data declared as {dtype}")
        tensors[name] = (dtype, list(shape if shape is not None else arr.shape), arr.tobytes())

    embed = normal(rng, (VOCAB, HIDDEN), 0.02)
    put("model.embed_tokens.weight", to_bf16_bits(embed), "BF16", embed.shape)

    for i in range(LAYERS):
        p = f"model.layers.{i}."
        put(p + "input_layernorm.weight", norm_weight(rng, HIDDEN, 3))
        # Weights are [out_features, in_features], as in torch.nn.Linear.
        put(p + "self_attn.q_proj.weight", normal(rng, (HIDDEN, HIDDEN), 0.05))
        # A small bias (Qwen-style q/k/v biases): a 1-D tensor with its own scale.
        put(p + "self_attn.q_proj.bias", normal(rng, (HIDDEN,), 0.01))
        put(p + "self_attn.k_proj.weight", normal(rng, (HIDDEN, HIDDEN), 0.05))
        put(p + "self_attn.v_proj.weight", normal(rng, (HIDDEN, HIDDEN), 0.03))
        o = normal(rng, (HIDDEN, HIDDEN), 0.03)
        if i == OUTLIER_LAYER:
            # LLM outlier features: a few input channels whose weights are
            # 20-50x the rest. One per-tensor scale must then cover them, so
            # the ordinary weights get few int16 levels and SQNR drops.
            cols = np.sort(rng.choice(HIDDEN, size=OUTLIER_CHANNELS, replace=False))
            gains = rng.uniform(20.0, 50.0, size=OUTLIER_CHANNELS).astype(F32)
            o[:, cols] = (o[:, cols] * gains).astype(F32)
        put(p + "self_attn.o_proj.weight", o)
        put(p + "post_attention_layernorm.weight", norm_weight(rng, HIDDEN, 3))
        put(p + "mlp.gate_proj.weight", normal(rng, (INTERMEDIATE, HIDDEN), 0.04))
        put(p + "mlp.up_proj.weight", normal(rng, (INTERMEDIATE, HIDDEN), 0.04))
        # Heavy tails: t with 3 dof has infinite kurtosis, so a few weights sit
        # far out and stretch the per-tensor range.
        put(p + "mlp.down_proj.weight", student_t(rng, (HIDDEN, INTERMEDIATE), 3, 0.03))

    put("model.norm.weight", norm_weight(rng, HIDDEN, 3))
    put("lm_head.weight", normal(rng, (VOCAB, HIDDEN), 0.02))
    # An integer tensor: Q16 carries it through / lists it as skipped.
    put("model.rotary_emb.position_ids", np.arange(POSITIONS, dtype=I64).reshape(1, POSITIONS), "I64")
    return tensors


def serialize(tensors, metadata):
    """safetensors bytes: u64 LE header length N, N bytes of JSON (sorted keys,
    compact, space-padded so the data starts 8-aligned), then the tensor data
    back to back in sorted-name order."""
    header = {"__metadata__": metadata}
    offset = 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    body = b"".join(tensors[name][2] for name in sorted(tensors))
    return struct.pack("<Q", len(text)) + text + body


def main():
    rng = np.random.default_rng(SEED)
    tensors = build(rng)
    for name, (dtype, _, data) in tensors.items():
        if dtype == "F32" and not np.all(np.isfinite(np.frombuffer(data, F32))):
            raise ValueError(f"non-finite value in {name}")
    metadata = {
        "format": "pt",
        "generator": "sample-data/make_sample.py",
        "seed": str(SEED),
        "description": (
            f"Tiny Llama-style decoder ({LAYERS} layers, hidden {HIDDEN}, intermediate "
            f"{INTERMEDIATE}, vocab {VOCAB}) with synthetic seeded weights for Q16 "
            "quantization tests: BF16 embedding, heavy-tailed down_proj, outlier input "
            f"channels in layer {OUTLIER_LAYER} o_proj, I64 position_ids. Not a trained model."
        ),
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), OUT_NAME)
    blob = serialize(tensors, metadata)
    with open(out, "wb") as f:
        f.write(blob)
    print(f"wrote {out}: {len(tensors)} tensors, {len(blob)} bytes")


if __name__ == "__main__":
    main()
