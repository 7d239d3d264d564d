"""Embedder backend: ONNX Runtime with a dynamically int8-quantised export of the same model.

The export (torch -> ONNX opset 17 -> int8 weights, per channel) is made once per model weights
file and cached in ``onnx_cache_dir``; a checksum record guards the cached file. The model's own
sentence-transformers configuration decides pooling, sequence length and prompts.
"""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cited.config import PACKAGED_MODEL, IndexSettings, Settings, default_of
from indexer.checksums import sha256_file
from indexer.embedders.base import Embedder
from indexer.embedders.sentence_transformer import resolve_model
from indexer.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

#: Suffix of the manifest model name: int8 vectors differ slightly from the fp32 ones.
NAME_SUFFIX = "#onnx-int8"
ONNX_FILE = "model.int8.onnx"
RECORD_FILE = "model.int8.json"
#: Bumped when the export recipe changes, so that old cached exports are made again.
RECIPE = 1
#: Pooling modes implemented here (sentence-transformers names).
POOLING_MODES = ("mean", "cls")
_MODULES = ("Transformer", "Pooling", "Normalize")
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class ModelConfig:
    """What the sentence-transformers configuration of a model folder says about encoding."""

    dim: int
    max_seq_length: int
    pooling: Literal["mean", "cls"]
    lowercase: bool
    query_prompt: str
    document_prompt: str


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def read_model_config(path: Path) -> ModelConfig:
    """Read modules.json, the pooling config, sentence_bert_config.json and the prompts."""
    modules = (
        json.loads((path / "modules.json").read_text()) if (path / "modules.json").is_file() else []
    )
    pooling_dir = path / "1_Pooling"
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in _MODULES:
            raise ModelNotFoundError(
                f"model folder {path} has a {module.get('type')!r} module; the onnx-int8 backend "
                f"implements only {', '.join(_MODULES)} (use CITED_BACKEND=torch)"
            )
        if kind == "Pooling":
            pooling_dir = path / str(module.get("path", "1_Pooling"))
    model_config = _json(path / "config.json")
    pooling = _json(pooling_dir / "config.json")
    mode: Any = pooling.get("pooling_mode")
    if mode is None:
        legacy = [name for key, name in _LEGACY_POOLING.items() if pooling.get(key)]
        mode = legacy or "mean"  # sentence-transformers' default for a bare transformer
    modes = [mode] if isinstance(mode, str) else list(mode)
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise ModelNotFoundError(
            f"model folder {path} pools with {modes!r}; the onnx-int8 backend implements "
            f"{', '.join(POOLING_MODES)} (use CITED_BACKEND=torch)"
        )
    st_config = _json(path / "config_sentence_transformers.json")
    prompts: dict[str, str] = dict(st_config.get("prompts") or {})
    default = prompts.get(str(st_config.get("default_prompt_name")), "")
    query = prompts.get("query", default)
    document = next(
        (prompts[k] for k in ("document", "passage", "corpus") if k in prompts), default
    )
    if (query or document) and pooling.get("include_prompt", True) is False:
        raise ModelNotFoundError(
            f"model folder {path} excludes its prompts from pooling (include_prompt: false), "
            "which the onnx-int8 backend does not implement (use CITED_BACKEND=torch)"
        )
    bert_config = _json(path / "sentence_bert_config.json")
    max_seq = bert_config.get("max_seq_length")
    if max_seq is None:
        limit = int(_json(path / "tokenizer_config.json").get("model_max_length", 512))
        max_seq = min(limit, int(model_config.get("max_position_embeddings", 512)))
    dim = pooling.get("embedding_dimension", pooling.get("word_embedding_dimension"))
    return ModelConfig(
        dim=int(dim or model_config["hidden_size"]),
        max_seq_length=int(max_seq),
        pooling="cls" if modes[0] == "cls" else "mean",
        lowercase=bool(bert_config.get("do_lower_case", False)),
        query_prompt=str(query or ""),
        document_prompt=str(document or ""),
    )


def weights_file(path: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return path / name
    raise ModelNotFoundError(
        f"model folder {path} has no weights file (model.safetensors or pytorch_model.bin)"
    )


def cache_folder(name: str, path: Path, cache_dir: Path) -> Path:
    """``<cache_dir>/<model-name-slug>-<sha256 of the weights, 12 hex>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return cache_dir / f"{slug}-{sha256_file(weights_file(path))[:12]}"


def _cached(folder: Path) -> bool:
    """The cached export is there and its checksum matches its record."""
    onnx_file, record = folder / ONNX_FILE, _json(folder / RECORD_FILE)
    if not onnx_file.is_file() or record.get("recipe") != RECIPE:
        return False
    if record.get("sha256") == sha256_file(onnx_file):
        return True
    logger.warning("cached ONNX export %s does not match its checksum: exporting again", onnx_file)
    return False


def cached_export(name: str, path: Path, cache_dir: Path) -> Path:
    """The checksummed int8 ONNX export of the model in ``path``, made on first use."""
    folder = cache_folder(name, path, cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / ".lock").open("a")
    except OSError as exc:
        raise ModelNotFoundError(
            f"cannot write the ONNX export cache {folder} ({exc.strerror}): set "
            "CITED_ONNX_CACHE_DIR to a writable folder"
        ) from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one exporter at a time; the others then reuse it
        if _cached(folder):
            logger.info("using the cached ONNX export %s", folder / ONNX_FILE)
        else:
            export_int8(path, folder)
    return folder / ONNX_FILE


@contextlib.contextmanager
def _temporary(folder: Path, suffix: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def export_int8(path: Path, folder: Path) -> None:
    """Export ``path`` to ONNX, quantise its weights to int8 and publish it in ``folder``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    logger.info("exporting %s to ONNX and quantising it to int8 in %s (once)", path, folder)
    model = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    model.eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        names.append("token_type_ids")

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra)
            return out.last_hidden_state

    example = {n: torch.ones((2, 8), dtype=torch.long) for n in names}
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with _temporary(folder, ".fp32.onnx") as fp32, _temporary(folder, ".int8.onnx") as int8:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(),
                (),
                str(fp32),
                kwargs=example,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        quantize_dynamic(fp32, int8, per_channel=True, weight_type=QuantType.QUInt8)
        record = {"recipe": RECIPE, "sha256": sha256_file(int8), "source": str(path)}
        os.replace(int8, folder / ONNX_FILE)
    with _temporary(folder, ".json") as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder / RECORD_FILE)
    logger.info("ONNX export ready: %s", folder / ONNX_FILE)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxInt8Embedder(Embedder):
    """The model's int8 ONNX export on ONNX Runtime's CPU provider; unit-length vectors."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        batch_size: int = default_of(IndexSettings, "batch_size"),
        cache_dir: Path | None = None,
        threads: int | None = None,
    ):
        import onnxruntime as ort  # import on use, like torch in the other backend
        from tokenizers import Tokenizer as FastTokenizer

        base_name, path = resolve_model(model)
        self.name = base_name + NAME_SUFFIX
        self.config: ModelConfig = read_model_config(path)
        self.dim = self.config.dim
        self.max_tokens = self.config.max_seq_length - 2  # [CLS] and [SEP], as the torch backend
        self.batch_size = batch_size
        cache = cache_dir or Path.home() / ".cache" / "cited" / "onnx"
        self.onnx_path = cached_export(base_name, path, cache.expanduser())

        tokenizer_file = path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ModelNotFoundError(
                f"model folder {path} has no tokenizer.json (a fast tokenizer), which the "
                "onnx-int8 backend needs (use CITED_BACKEND=torch)"
            )
        # One tokenizer for offsets (whole texts) and one for the model (truncated, unpadded:
        # batches are padded here, to their own longest text only).
        self._offsets_tokenizer = FastTokenizer.from_file(str(tokenizer_file))
        self._offsets_tokenizer.no_truncation()
        self._offsets_tokenizer.no_padding()
        self._tokenizer = FastTokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(self.config.max_seq_length)
        self._tokenizer.no_padding()

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        logger.info(
            "embedding with %s on ONNX Runtime %s (%d threads, batches of %d)",
            self.name,
            ort.__version__,
            options.intra_op_num_threads,
            batch_size,
        )

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.config.document_prompt)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.config.query_prompt)

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        if not texts:
            return []
        encodings = self._offsets_tokenizer.encode_batch(texts, add_special_tokens=False)
        return [[(int(s), int(e)) for s, e in enc.offsets] for enc in encodings]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """Tokenise every text once, run length-sorted batches, pool and normalise."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        inputs = [prompt + text for text in texts] if prompt else texts
        if self.config.lowercase:
            inputs = [text.lower() for text in inputs]
        encodings = self._tokenizer.encode_batch(inputs)
        ids = [enc.ids for enc in encodings]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first, like ST
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._run([ids[i] for i in batch])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        for row, token_ids in enumerate(batch):
            input_ids[row, : len(token_ids)] = token_ids
        mask = (np.arange(width)[None, :] < np.array([len(r) for r in batch])[:, None]).astype(
            np.int64
        )
        feed: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self.session.run(None, feed)[0]
        if self.config.pooling == "cls":
            vectors = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def load(settings: Settings) -> OnnxInt8Embedder:
    """``CITED_BACKEND=onnx-int8``: ``CITED_MODEL`` exported once to int8 ONNX (cached)."""
    index = settings.index
    return OnnxInt8Embedder(
        index.model, batch_size=index.batch_size, cache_dir=index.onnx_cache_dir
    )
