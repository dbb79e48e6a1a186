"""Independent PyTorch reference of ViCLIP (OpenGVLab InternVid), used to generate parity
fixtures for the C engine and as the PyTorch side of the benchmark.

Written from the architecture description, not copied from the official code; the module and
parameter names match the official checkpoints, so `state_dict()` keys are the official ones
("temp", "vision_encoder.*", "text_encoder.*"). tools/check_ref_against_official.py proves
numerical equality with the official modules.

Layout conventions (the C engine follows the same ones):
  * video input is [B, T, 3, H, W] (what ViCLIP.encode_vision receives);
  * patch tokens are ordered patch-major: token index = n * T + t, n = row-major patch index;
  * masking keeps a caller-given [B, K] ascending index tensor into those N*T patch tokens
    (the official code draws it at random; `official_keep_indices` reproduces that draw);
  * activations are kept batch-first [B, L, W]; attention is nn.MultiheadAttention's math
    (packed in_proj, q scaled by 1/sqrt(head_dim) before QK^T, additive mask).

Two deliberate deviations, both numerically irrelevant in float32:
  * the official text LayerNorm upcasts to float32 and casts back; here LayerNorm runs in the
    input dtype, so a float64 model stays float64 all the way (fixtures exact to ~1e-13);
  * drop-path and dropout are absent (the reference is deterministic).
"""

import json
import math
import struct
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CONFIG_KEYS = ("image_size", "patch_size", "num_frames", "vision_width", "vision_layers",
               "vision_heads", "embed_dim", "context_length", "vocab_size", "text_width",
               "text_layers", "text_heads")


@dataclass
class Config:
    image_size: int
    patch_size: int
    num_frames: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    embed_dim: int
    context_length: int
    vocab_size: int
    text_width: int
    text_layers: int
    text_heads: int

    @property
    def grid(self):
        return self.image_size // self.patch_size

    @property
    def video_tokens(self):
        """Number of patch tokens of one clip (class token excluded)."""
        return self.grid * self.grid * self.num_frames

    def to_json(self):
        return json.dumps({k: getattr(self, k) for k in CONFIG_KEYS}, separators=(",", ":"))


# Same presets as src/model/config.c.
PRESETS = {
    "tiny": Config(image_size=16, patch_size=4, num_frames=4, vision_width=32, vision_layers=2,
                   vision_heads=2, embed_dim=24, context_length=8, vocab_size=100,
                   text_width=32, text_layers=2, text_heads=4),
    "demo": Config(image_size=32, patch_size=8, num_frames=8, vision_width=128, vision_layers=3,
                   vision_heads=4, embed_dim=128, context_length=32, vocab_size=49408,
                   text_width=128, text_layers=2, text_heads=4),
    "b16": Config(image_size=224, patch_size=16, num_frames=8, vision_width=768,
                  vision_layers=12, vision_heads=12, embed_dim=512, context_length=32,
                  vocab_size=49408, text_width=512, text_layers=12, text_heads=8),
    "l14": Config(image_size=224, patch_size=14, num_frames=8, vision_width=1024,
                  vision_layers=24, vision_heads=16, embed_dim=768, context_length=32,
                  vocab_size=49408, text_width=768, text_layers=12, text_heads=12),
}


def kept_tokens(cfg, masking_prob):
    """K for a masking probability, as the official mask_tokens counts it: int(p*L) dropped."""
    n = cfg.video_tokens
    return n - int(masking_prob * n)


# ----------------------------------------------------------------------------- building blocks

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


# bench/bench_torch.py turns this on to give PyTorch 2.x its fused attention; the fixtures keep
# the explicit softmax (Debian's 1.13 has no scaled_dot_product_attention).
FUSED_ATTENTION = False


class PackedSelfAttention(nn.Module):
    """Multi-head self-attention with nn.MultiheadAttention's parameter layout:
    in_proj_weight [3W, W] stacks Wq, Wk, Wv; out_proj is a Linear(W, W)."""

    def __init__(self, width, heads):
        super().__init__()
        assert width % heads == 0
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, additive_mask=None):
        b, n, w = x.shape
        hd = w // self.heads
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # [B, L, 3W]
        q, k, v = qkv.split(w, dim=-1)

        def heads_first(t):  # [B, L, W] -> [B, h, L, hd]
            return t.reshape(b, n, self.heads, hd).transpose(1, 2)

        q, k, v = heads_first(q), heads_first(k), heads_first(v)
        if FUSED_ATTENTION and hasattr(F, "scaled_dot_product_attention"):
            # PyTorch >= 2.0's fused attention (scale 1/sqrt(hd) as below): the benchmark's fastest peer
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=additive_mask)
            return self.out_proj(ctx.transpose(1, 2).reshape(b, n, w))
        q = q * (1.0 / math.sqrt(hd))  # MultiheadAttention scales q before the product
        scores = q @ k.transpose(-2, -1)  # [B, h, L, L]
        if additive_mask is not None:
            scores = scores + additive_mask
        ctx = scores.softmax(dim=-1) @ v  # [B, h, L, hd]
        ctx = ctx.transpose(1, 2).reshape(b, n, w)
        return self.out_proj(ctx)


class ResidualAttentionBlock(nn.Module):
    """Pre-LN block: x + attn(ln_1 x), then x + mlp(ln_2 x)."""

    def __init__(self, width, heads):
        super().__init__()
        self.attn = PackedSelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width, eps=1e-5)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, 4 * width)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(4 * width, width)),
        ]))
        self.ln_2 = nn.LayerNorm(width, eps=1e-5)

    def forward(self, x, additive_mask=None):
        x = x + self.attn(self.ln_1(x), additive_mask)
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x, additive_mask=None, taps=None):
        for i, blk in enumerate(self.resblocks):
            x = blk(x, additive_mask)
            if taps is not None:
                taps[f"block{i}_out"] = x
        return x


# ----------------------------------------------------------------------------- towers

class VisionEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, p = cfg.vision_width, cfg.patch_size
        self.cfg = cfg
        self.conv1 = nn.Conv3d(3, w, (1, p, p), (1, p, p), bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.positional_embedding = nn.Parameter(torch.zeros(cfg.grid * cfg.grid + 1, w))
        self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, cfg.num_frames, w))
        self.ln_pre = nn.LayerNorm(w, eps=1e-5)
        self.transformer = Transformer(w, cfg.vision_layers, cfg.vision_heads)
        self.ln_post = nn.LayerNorm(w, eps=1e-5)
        self.proj = nn.Parameter(torch.zeros(w, cfg.embed_dim))

    def embed(self, video):
        """[B, T, 3, H, W] -> (cls [B, 1, W], patch tokens [B, N*T, W] in patch-major order)."""
        b, t = video.shape[:2]
        x = self.conv1(video.permute(0, 2, 1, 3, 4))  # [B, W, T, g, g]
        w = x.shape[1]
        x = x.flatten(3).permute(0, 2, 3, 1)  # [B, T, N, W], N row-major over the grid
        # Class token + spatial positions; the class token is the same for every frame, the
        # official code takes one copy of it.
        cls = self.class_embedding + self.positional_embedding[0]
        x = x + self.positional_embedding[1:]
        if t == 1:  # single image: the official code adds the mean temporal embedding
            x = x + self.temporal_positional_embedding.mean(1).view(1, 1, 1, w)
        else:
            x = x + self.temporal_positional_embedding.view(1, t, 1, w)
        x = x.transpose(1, 2).reshape(b, -1, w)  # [B, N*T, W]: token = n*T + t
        return cls.view(1, 1, w).expand(b, 1, w), x

    def forward(self, video, keep=None, taps=None):
        """video [B, T, 3, H, W]; keep None or a [B, K] int tensor of patch tokens to keep
        (ascending, as the official boolean-mask selection yields). Returns [B, embed_dim]."""
        cls, x = self.embed(video)
        if keep is not None:
            idx = keep.long().unsqueeze(-1).expand(-1, -1, x.shape[-1])
            x = torch.gather(x, 1, idx)
        x = self.ln_pre(torch.cat([cls, x], dim=1))
        if taps is not None:
            taps["tokens_after_ln_pre"] = x
        x = self.transformer(x, taps=taps)
        x = self.ln_post(x)
        return x[:, 0] @ self.proj


class TextEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        w = cfg.text_width
        self.token_embedding = nn.Embedding(cfg.vocab_size, w)
        self.positional_embedding = nn.Parameter(torch.zeros(cfg.context_length, w))
        self.transformer = Transformer(w, cfg.text_layers, cfg.text_heads)
        self.ln_final = nn.LayerNorm(w, eps=1e-5)
        self.text_projection = nn.Parameter(torch.zeros(w, cfg.embed_dim))

    def causal_mask(self, n, dtype, device):
        return torch.full((n, n), float("-inf"), dtype=dtype, device=device).triu(1)

    def forward(self, tokens):
        """tokens [B, ctx] integer ids; the end-of-text id is the largest id of each row."""
        tokens = tokens.long()
        n = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positional_embedding[:n]
        x = self.transformer(x, self.causal_mask(n, x.dtype, x.device))
        x = self.ln_final(x)
        eot = tokens.argmax(dim=-1)
        return x[torch.arange(x.shape[0], device=x.device), eot] @ self.text_projection


class ViCLIPRef(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.temp = nn.Parameter(torch.tensor(0.01))
        self.vision_encoder = VisionEncoder(cfg)
        self.text_encoder = TextEncoder(cfg)

    def encode_video(self, video, keep=None, taps=None):
        return self.vision_encoder(video, keep, taps)

    def encode_text(self, tokens):
        return self.text_encoder(tokens)

    def loss(self, video, tokens, idx, keep=None):
        return vtc_loss(self.encode_video(video, keep), self.encode_text(tokens), idx, self.temp)


def vtc_loss(vision_emb, text_emb, idx, temp):
    """Official ViCLIP video-text contrastive loss (VTC_VTM_Loss.vtc_loss on one device):
    cosine similarities over temp, soft targets = rows of [idx_i == idx_j] normalised to sum 1,
    mean of the video->text and text->video cross-entropies."""
    v = F.normalize(vision_emb, dim=-1)
    t = F.normalize(text_emb, dim=-1)
    sim = v @ t.T / temp
    idx = idx.view(-1, 1)
    targets = (idx == idx.T).to(sim.dtype)
    targets = targets / targets.sum(1, keepdim=True)
    loss_v2t = -(F.log_softmax(sim, dim=1) * targets).sum(1).mean()
    loss_t2v = -(F.log_softmax(sim.T, dim=1) * targets).sum(1).mean()
    return (loss_v2t + loss_t2v) / 2


def random_keep_indices(batch, tokens, keep, generator=None):
    """[batch, keep] int32 ascending indices of the patch tokens kept, drawn the official way:
    argsort of uniform noise, the first tokens-keep positions are dropped."""
    noise = torch.rand(batch, tokens, generator=generator)
    dropped = torch.argsort(noise, dim=-1)[:, :tokens - keep]
    mask = torch.zeros(batch, tokens, dtype=torch.bool)
    mask.scatter_(1, dropped, True)
    return torch.stack([torch.nonzero(~mask[i]).squeeze(1) for i in range(batch)]).to(torch.int32)


def official_keep_indices(batch, tokens, masking_prob, generator=None):
    """Reproduces the official VisionTransformer.mask_tokens draw for a masking probability
    (int(p*L) tokens dropped). With the default generator this consumes the global RNG exactly
    as the official code does, so re-seeding before each gives the same mask."""
    return random_keep_indices(batch, tokens, tokens - int(masking_prob * tokens), generator)


# ----------------------------------------------------------------------------- initialisation

@torch.no_grad()
def init_random_(model, seed=0):
    """Random weights that exercise every path: matrices ~ N(0, 1/fan_in) (so attention is far
    from uniform), LayerNorm gains 1 + noise, non-zero biases and a non-zero temporal embedding.
    temp = 0.07. Deterministic for a seed, independent of torch's global RNG."""
    g = torch.Generator().manual_seed(seed)

    def randn(shape, std):
        return torch.randn(shape, generator=g, dtype=torch.float64) * std

    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if name == "temp":
            p.fill_(0.07)
            continue
        is_ln = ".ln_" in name
        if is_ln and leaf == "weight":
            val = 1.0 + randn(p.shape, 0.1)
        elif is_ln or leaf.endswith("bias"):
            val = randn(p.shape, 0.02)
        elif leaf == "conv1" or name.endswith("conv1.weight"):
            val = randn(p.shape, (p.shape[1] * p.shape[3] * p.shape[4]) ** -0.5)
        elif leaf in ("proj", "text_projection"):
            val = randn(p.shape, p.shape[0] ** -0.5)
        elif name.endswith("token_embedding.weight"):
            val = randn(p.shape, 0.5)
        elif leaf in ("class_embedding", "positional_embedding"):
            val = randn(p.shape, p.shape[-1] ** -0.5)
        elif leaf == "temporal_positional_embedding":
            val = randn(p.shape, 0.1)
        elif p.dim() == 2:  # in_proj / out_proj / c_fc / c_proj weights: [out, in]
            val = randn(p.shape, p.shape[1] ** -0.5)
        else:
            raise ValueError(f"init_random_: no rule for parameter {name} {tuple(p.shape)}")
        p.copy_(val.to(p.dtype))
    return model


# ----------------------------------------------------------------------------- safetensors

_ST_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
              torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: 8-byte little-endian header length, JSON header (with a
    "__metadata__" string map) padded with spaces to a multiple of 8, then the raw
    little-endian data. Tensors are laid out widest dtype first so every tensor starts
    aligned to its element size, with no gaps (the format requires contiguous offsets).
    Streams tensor by tensor, so a 1 GB file needs no 1 GB buffer. Returns the file size."""
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, t in items:
        if t.dtype not in _ST_DTYPES:
            raise TypeError(f"write_safetensors: {name}: unsupported dtype {t.dtype}")
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for _, t in items:
            arr = t.detach().contiguous().cpu().numpy()
            f.write(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    return 8 + len(hjson) + offset


def read_safetensors(path):
    """Reads a safetensors file into ({name: tensor}, metadata dict). The tensors are
    copy-on-write views of a memory map, so large files cost no upfront memory."""
    import numpy as np
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    meta = header.pop("__metadata__", {})
    base = 8 + hlen
    mm = np.memmap(path, dtype=np.uint8, mode="c")
    np_types = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        arr = mm[base + a:base + b].view(np_types[h["dtype"]]).reshape(h["shape"])
        out[name] = torch.from_numpy(arr)
    return out, meta


def config_from_metadata(meta):
    d = json.loads(meta["config"])
    return Config(**{k: int(d[k]) for k in CONFIG_KEYS})


def model_from_safetensors(path, dtype=torch.float32):
    """Builds a ViCLIPRef from a fixture/model file (params under their official names)."""
    tensors, meta = read_safetensors(path)
    model = ViCLIPRef(config_from_metadata(meta)).to(dtype)
    sd = {k: v for k, v in tensors.items() if k in model.state_dict()}
    model.load_state_dict(sd, strict=True)
    return model


__all__ = ["Config", "PRESETS", "CONFIG_KEYS", "ViCLIPRef", "VisionEncoder", "TextEncoder",
           "vtc_loss", "official_keep_indices", "random_keep_indices", "kept_tokens", "init_random_",
           "write_safetensors", "read_safetensors", "model_from_safetensors"]
