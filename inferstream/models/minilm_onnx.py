"""Build the all-MiniLM-L6-v2 sentence encoder as ONNX straight from its safetensors weights.

Serving must not depend on torch, so instead of exporting through ``torch.onnx`` we write the BERT
graph node by node with ``onnx.helper`` and fill it with the packaged weights. The graph covers the
whole sentence-transformers pipeline (Transformer -> mean Pooling -> Normalize), so one session call
returns the final unit-length embedding and no numpy post-processing sits on the hot path.

The node layout mirrors Hugging Face's ``BertModel`` operation for operation (same order of adds,
the division by sqrt(head_dim), erf GELU) so that results match the reference to float32 rounding,
and it keeps the patterns ONNX Runtime's optimiser recognises (LayerNormalization, erf-GELU).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

if TYPE_CHECKING:
    import onnx

OPSET = 17
# IR 8 is what opset 17 shipped with; pinning it keeps the file loadable by older ONNX Runtimes
# (the project supports onnxruntime >= 1.19) instead of whatever the installed onnx defaults to.
IR_VERSION = 8
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "sentence_embedding"
# Classic BERT additive mask value. Large enough that exp() underflows to exactly 0 in float32, yet
# representable in float16 (float32's min would become -inf there and 0 * -inf gives NaN).
MASK_VALUE = -10000.0
# sentence-transformers: Pooling clamps the token count at 1e-9, Normalize (F.normalize) the norm
# at 1e-12.
POOL_EPS = 1e-9
NORM_EPS = 1e-12


@dataclass(frozen=True)
class BertConfig:
    """The few config.json fields the graph depends on."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            # Only the exact erf GELU is built; a tanh-approximate model would silently drift.
            raise ValueError(f"unsupported hidden_act {raw['hidden_act']!r} in {path}")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"unsupported position_embedding_type in {path}")
        return cls(
            hidden_size=int(raw["hidden_size"]),
            num_layers=int(raw["num_hidden_layers"]),
            num_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            layer_norm_eps=float(raw["layer_norm_eps"]),
            max_position_embeddings=int(raw["max_position_embeddings"]),
        )


class _GraphBuilder:
    """Collects nodes and initializers with deterministic, readable names."""

    def __init__(self, weights: dict[str, npt.NDArray[np.generic]]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def const(self, name: str, array: npt.NDArray[np.generic]) -> str:
        if name in self._names:
            raise ValueError(f"duplicate initializer {name}")
        self._names.add(name)
        from onnx import numpy_helper  # onnx only where a graph is built: it costs ~1 s to import

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, key: str, *, transpose: bool = False) -> str:
        array = self.weights[key]
        # torch Linear stores [out, in]; MatMul wants x @ W^T, so transpose once at build time.
        return self.const(key, array.T if transpose else array)

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(self, x: str, prefix: str) -> str:
        w = self.weight(f"{prefix}.weight", transpose=True)
        b = self.weight(f"{prefix}.bias")
        return self.node(
            "Add", [self.node("MatMul", [x, w], f"{prefix}/matmul"), b], f"{prefix}/out"
        )

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        scale = self.weight(f"{prefix}.weight")
        bias = self.weight(f"{prefix}.bias")
        return self.node(
            "LayerNormalization", [x, scale, bias], f"{prefix}/out", axis=-1, epsilon=eps
        )


def _scalar(value: float) -> npt.NDArray[np.float32]:
    return np.array(value, dtype=np.float32)


def _embeddings(g: _GraphBuilder, cfg: BertConfig) -> str:
    word = g.node(
        "Gather", [g.weight("embeddings.word_embeddings.weight"), INPUT_IDS], "emb/word", axis=0
    )
    # Position rows 0..seq-1: slice the table by the runtime sequence length (dynamic axis) rather
    # than Gather(Range(...)); a plain Slice is simpler and folds well in ORT's optimiser.
    seq_len = g.node("Shape", [INPUT_IDS], "emb/seq_len", start=1, end=2)
    zero = g.const("c/zero_1d", np.array([0], np.int64))
    pos = g.node(
        "Slice", [g.weight("embeddings.position_embeddings.weight"), zero, seq_len, zero], "emb/pos"
    )
    # token_type_ids are always 0 for single sentences, so row 0 of the table is a constant bias.
    token_type = g.const(
        "embeddings.token_type_embeddings.weight[0]",
        g.weights["embeddings.token_type_embeddings.weight"][0],
    )
    summed = g.node("Add", [g.node("Add", [word, pos], "emb/word_pos"), token_type], "emb/sum")
    return g.layer_norm(summed, "embeddings.LayerNorm", cfg.layer_norm_eps)


def _attention_bias(g: _GraphBuilder) -> str:
    # [batch, seq] {0,1} -> [batch, 1, 1, seq] with 0 for real tokens and MASK_VALUE for padding,
    # broadcast over heads and query positions exactly like BERT's extended attention mask.
    from onnx import TensorProto

    mask = g.node("Cast", [ATTENTION_MASK], "mask/float", to=TensorProto.FLOAT)
    inverted = g.node("Sub", ["c/one_f", mask], "mask/inverted")
    bias = g.node("Mul", [inverted, g.const("c/mask_value", _scalar(MASK_VALUE))], "mask/bias")
    return g.node("Unsqueeze", [bias, g.const("c/axes_1_2", np.array([1, 2], np.int64))], "mask/4d")


def _encoder_layer(g: _GraphBuilder, x: str, bias: str, i: int, cfg: BertConfig) -> str:
    p = f"encoder.layer.{i}"
    head_dim = cfg.hidden_size // cfg.num_heads
    split = f"c/split_heads_{i}"
    g.const(split, np.array([0, 0, cfg.num_heads, head_dim], np.int64))

    def heads(name: str, perm: list[int]) -> str:
        # [b, s, hidden] -> [b, s, heads, head_dim] -> transposed per perm.
        projected = g.linear(x, f"{p}.attention.self.{name}")
        reshaped = g.node("Reshape", [projected, split], f"{p}/{name}/split")
        return g.node("Transpose", [reshaped], f"{p}/{name}/heads", perm=perm)

    q = heads("query", [0, 2, 1, 3])  # [b, h, s, d]
    k = heads("key", [0, 2, 3, 1])  # [b, h, d, s]
    v = heads("value", [0, 2, 1, 3])  # [b, h, s, d]
    scores = g.node("MatMul", [q, k], f"{p}/scores")
    scaled = g.node(
        "Div", [scores, g.const(f"c/sqrt_d_{i}", _scalar(math.sqrt(head_dim)))], f"{p}/scaled"
    )
    masked = g.node("Add", [scaled, bias], f"{p}/masked")
    probs = g.node("Softmax", [masked], f"{p}/probs", axis=-1)
    context = g.node("MatMul", [probs, v], f"{p}/context")
    merged = g.node("Transpose", [context], f"{p}/context_t", perm=[0, 2, 1, 3])
    merge_shape = g.const(f"c/merge_heads_{i}", np.array([0, 0, cfg.hidden_size], np.int64))
    merged = g.node("Reshape", [merged, merge_shape], f"{p}/context_merged")
    attn_out = g.linear(merged, f"{p}.attention.output.dense")
    residual = g.node("Add", [attn_out, x], f"{p}/attn_residual")
    x = g.layer_norm(residual, f"{p}.attention.output.LayerNorm", cfg.layer_norm_eps)

    # FFN with exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))), the pattern ORT fuses into Gelu.
    h = g.linear(x, f"{p}.intermediate.dense")
    erf = g.node("Erf", [g.node("Div", [h, "c/sqrt2"], f"{p}/gelu/div")], f"{p}/gelu/erf")
    gate = g.node("Add", [erf, "c/one_f"], f"{p}/gelu/add")
    gelu = g.node("Mul", [g.node("Mul", [h, gate], f"{p}/gelu/mul"), "c/half"], f"{p}/gelu/out")
    ffn_out = g.linear(gelu, f"{p}.output.dense")
    residual = g.node("Add", [ffn_out, x], f"{p}/ffn_residual")
    return g.layer_norm(residual, f"{p}.output.LayerNorm", cfg.layer_norm_eps)


def _pool_and_normalise(g: _GraphBuilder, hidden: str) -> str:
    # Mean over real tokens only: sum(h * m) / max(sum(m), 1e-9), as sentence-transformers Pooling.
    mask = g.node(
        "Unsqueeze", ["mask/float", g.const("c/axes_last", np.array([-1], np.int64))], "pool/mask"
    )
    axis1 = g.const("c/axis_1", np.array([1], np.int64))
    summed = g.node(
        "ReduceSum", [g.node("Mul", [hidden, mask], "pool/masked"), axis1], "pool/sum", keepdims=0
    )
    counts = g.node("ReduceSum", [mask, axis1], "pool/count", keepdims=0)
    counts = g.node("Max", [counts, g.const("c/pool_eps", _scalar(POOL_EPS))], "pool/count_clamped")
    mean = g.node("Div", [summed, counts], "pool/mean")
    # L2 normalise, x / max(||x||, 1e-12) as torch.nn.functional.normalize.
    sq = g.node("Mul", [mean, mean], "norm/sq")
    sq_sum = g.node("ReduceSum", [sq, g.const("c/axis_last", np.array([-1], np.int64))], "norm/sum")
    norm = g.node("Sqrt", [sq_sum], "norm/sqrt")
    norm = g.node("Max", [norm, g.const("c/norm_eps", _scalar(NORM_EPS))], "norm/clamped")
    return g.node("Div", [mean, norm], OUTPUT)


def build_minilm_model(weights_dir: Path) -> onnx.ModelProto:
    """Return the in-memory ONNX model for the BERT encoder + pooling + normalisation."""
    import onnx
    from onnx import TensorProto, helper

    cfg = BertConfig.from_file(weights_dir / "config.json")
    if cfg.hidden_size % cfg.num_heads:
        raise ValueError("hidden_size must be divisible by num_attention_heads")
    weights = load_file(str(weights_dir / "model.safetensors"))
    # Some checkpoints prefix every key with the architecture name; strip it so lookups are stable.
    weights = {k.removeprefix("bert."): v for k, v in weights.items()}
    g = _GraphBuilder(weights)
    # Scalars shared by every layer.
    g.const("c/one_f", _scalar(1.0))
    g.const("c/sqrt2", _scalar(math.sqrt(2.0)))
    g.const("c/half", _scalar(0.5))

    x = _embeddings(g, cfg)
    bias = _attention_bias(g)
    for i in range(cfg.num_layers):
        x = _encoder_layer(g, x, bias, i, cfg)
    _pool_and_normalise(g, x)

    dims: list[str | int] = ["batch", "sequence"]
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        inputs=[
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, dims),
            helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, dims),
        ],
        outputs=[
            helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", cfg.hidden_size])
        ],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="inferstream.models.minilm_onnx",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def build_minilm_onnx(weights_dir: Path, out_path: Path) -> Path:
    """Build the graph from ``weights_dir`` and write it atomically to ``out_path``.

    The bytes depend only on the weights and this builder (no timestamps, deterministic protobuf
    serialisation), so the file's sha256 identifies the model and rebuilding elsewhere gives the
    same digest.
    """
    model = build_minilm_model(Path(weights_dir))
    data = model.SerializeToString(deterministic=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_path, data)
    return out_path


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory + rename, so readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
