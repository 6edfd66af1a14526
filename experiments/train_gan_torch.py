#!/usr/bin/python3
"""PyTorch trainer of the project's generators (Debian's python3-torch, CPU): a Progressive GAN trained by
progressive growing, exported as GAN Dissection's `.pth` state dict, which ganatomy loads like a user's checkpoint.

    python3 experiments/train_gan_torch.py --data /tmp/scenes_train.npy --run data/train/scenes_pggan64_torch \
        --sizes 256,256,256,128,64,32 --dwidths 32,64,128,256 --max-minutes 150 [--resume]

The generator is GAN Dissection's `netdissect/proggan.py` layout (see lib/models/pggan.ts): z viewed as 1x1 →
`layer1` (PixelNorm, 4x4 conv, padding 3) → `layer2` … `layer{2L}` (PixelNorm → nearest 2x upsample on odd layers →
3x3 conv; equalised-lr scale sqrt(2)/sqrt(fan_in), bias, LeakyReLU 0.2) → `output_RxR` (PixelNorm, 1x1 conv, scale
1/sqrt(fan_in), bias). Progressive growing (Karras et al. 2018) trains it from 4x4 up: each lower resolution r has an
auxiliary to-RGB layer (same form as `output_RxR`), faded out while the next pair of layers fades in, and dropped at
export, as PGGAN's own released generators keep only the last one. The discriminator grows the same way (from-RGB per
resolution, 3x3 conv + 3x3 stride-2 conv per block, minibatch std, dense). Loss: non-saturating logistic with lazy R1
on reals (every 8 steps), Adam (lr 0.002, betas 0, 0.99), an exponential moving average of the generator (half-life
10k images) for export.

The data file is uint8 [N, R, R, C] (.npy), written by `experiments/export_scenes.ts` or `export_fashion`.
Checkpoints (`checkpoint.pt`, atomic, slim: fp16 weights, ~25 MB, committed with the run so a later session resumes)
every --checkpoint-minutes; --resume continues from them; each checkpoint also
exports `generator.pth` (the averaged generator at full resolution, only once training reached it), `samples.png`
(8x8, fixed latents) and appends the losses to `metrics.jsonl`.
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def pixel_norm(x):
    return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class WConv(nn.Module):
    """Bias-free conv with equalised-lr scale, then + bias (`wscale.b`); weights N(0, 1) as PGGAN initialises."""

    def __init__(self, cin, cout, k, pad, gain=math.sqrt(2)):
        super().__init__()
        self.conv = nn.Module()
        self.conv.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.wscale = nn.Module()
        self.wscale.b = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * k * k)
        self.pad = pad

    def forward(self, x, stride=1):
        return F.conv2d(x, self.conv.weight * self.scale, padding=self.pad, stride=stride) + self.wscale.b.view(1, -1, 1, 1)


class Generator(nn.Module):
    """sizes = [z, channels at 4x4, 8x8, …]; `layer1` … `layer{2L}` and `output_RxR`, plus to-RGB per lower res."""

    def __init__(self, sizes, channels):
        super().__init__()
        self.sizes, self.levels = sizes, len(sizes) - 1
        self.resolution = 4 * 2 ** (self.levels - 1)
        for i in range(1, 2 * self.levels + 1):
            cin = sizes[0] if i == 1 else sizes[i // 2]
            cout = sizes[(i + 1) // 2]
            setattr(self, f"layer{i}", WConv(cin, cout, 4 if i == 1 else 3, 3 if i == 1 else 1))
        for level in range(self.levels):
            r = 4 * 2 ** level
            name = f"output_{r}x{r}" if level == self.levels - 1 else f"to_rgb_{r}"
            setattr(self, name, WConv(sizes[level + 1], channels, 1, 0, gain=1.0))

    def rgb(self, level, x):
        r = 4 * 2 ** level
        name = f"output_{r}x{r}" if level == self.levels - 1 else f"to_rgb_{r}"
        return getattr(self, name)(pixel_norm(x))

    def forward(self, z, level=None, alpha=1.0):
        """Images at resolution 4·2^level; alpha < 1 fades the last pair of layers in."""
        level = self.levels - 1 if level is None else level
        x = z.view(z.shape[0], z.shape[1], 1, 1)
        prev = None
        for i in range(1, 2 * (level + 1) + 1):
            if i == 2 * level + 1:
                prev = x
            x = pixel_norm(x)
            if i >= 3 and i % 2 == 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.leaky_relu(getattr(self, f"layer{i}")(x), 0.2)
        out = self.rgb(level, x)
        if alpha < 1 and level > 0:
            skip = F.interpolate(self.rgb(level - 1, prev), scale_factor=2, mode="nearest")
            out = skip + alpha * (out - skip)
        return out

    def dissection_state_dict(self):
        """GAN Dissection's keys only: `layerN.conv.weight`, `layerN.wscale.b`, `output_RxR.*` (OIHW, unscaled)."""
        sd = OrderedDict()
        for k, v in self.state_dict().items():
            if not k.startswith("to_rgb_"):
                sd[k] = v.detach().clone().float()
        return sd


def minibatch_std(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.view(g, n // g, c, h, w)
    y = torch.sqrt(torch.var(y, dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # [M]
    y = y.repeat(g).view(n, 1, 1, 1).expand(n, 1, h, w)
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """widths[i] at resolution R / 2^i (down to 8x8; the last also at 4x4); grows with the generator."""

    def __init__(self, resolution, channels, widths):
        super().__init__()
        self.levels = int(math.log2(resolution)) - 1
        assert len(widths) == self.levels - 1, f"need {self.levels - 1} widths for {resolution}px"
        self.width = {}
        for level in range(self.levels):  # level l works at 4·2^l
            r = 4 * 2 ** level
            self.width[level] = widths[min(self.levels - 1 - level, len(widths) - 1)] if level > 0 else widths[-1]
        for level in range(self.levels):
            w = self.width[level]
            setattr(self, f"from_rgb_{level}", WConv(channels, w, 1, 0))
            if level > 0:
                setattr(self, f"block{level}_conv", WConv(w, w, 3, 1))
                setattr(self, f"block{level}_down", WConv(w, self.width[level - 1], 3, 1))
        w = self.width[0]
        self.final_conv = WConv(w + 1, w, 3, 1)
        self.final_dense = WConv(w * 16, 1, 1, 0, gain=1.0)

    def forward(self, x, level, alpha=1.0):
        lrelu = lambda t: F.leaky_relu(t, 0.2)
        h = lrelu(getattr(self, f"from_rgb_{level}")(x))
        for lv in range(level, 0, -1):
            h = lrelu(getattr(self, f"block{lv}_conv")(h))
            h = lrelu(getattr(self, f"block{lv}_down")(h, stride=2))
            if lv == level and alpha < 1:
                skip = lrelu(getattr(self, f"from_rgb_{lv - 1}")(F.avg_pool2d(x, 2)))
                h = skip + alpha * (h - skip)
        h = lrelu(self.final_conv(minibatch_std(h)))
        h = h.reshape(h.shape[0], -1, 1, 1)
        return self.final_dense(h).view(-1)


def schedule(levels, kimg_fade, kimg_stable, kimg_first):
    """Phases [(level, kimg, fading)]: level 0 stable for kimg_first, then fade + stable per level."""
    phases = [(0, kimg_first, False)]
    for level in range(1, levels):
        phases.append((level, kimg_fade, True))
        phases.append((level, kimg_stable, False))
    return phases


def phase_at(phases, kimg):
    """(level, alpha, index) at `kimg` thousand images into training; the last phase runs forever."""
    start = 0.0
    for idx, (level, length, fading) in enumerate(phases):
        if kimg < start + length or idx == len(phases) - 1:
            alpha = min(1.0, (kimg - start) / length) if fading else 1.0
            return level, alpha, idx
        start += length
    raise AssertionError


def downsample(real, level, levels):
    """Real images at 4·2^level by area averaging."""
    f = 2 ** (levels - 1 - level)
    return F.avg_pool2d(real, f) if f > 1 else real


def write_png(path, img):
    """uint8 [H, W, C] (C = 1 or 3) → PNG, without PIL."""
    h, w, c = img.shape
    colour = {1: 0, 3: 2}[c]
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def grid(images, cols=8, scale=1):
    """[N, C, H, W] in [-1, 1] → uint8 [rows·H, cols·W, C] with 1-px gaps."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    if scale > 1:
        x = x.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = x.shape
    rows = (n + cols - 1) // cols
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = x[i]
    return out


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def slim(ck):
    """A checkpoint small enough to commit: weights in float16, Adam's second moments in bfloat16, its first
    moments dropped (with beta1 = 0 Adam overwrites them with the next gradient, so nothing is lost)."""
    out = {"format": "slim", "recipe": ck["recipe"], "state": ck["state"]}
    for k in ("g", "d", "g_ema"):
        out[k] = {n: v.half() for n, v in ck[k].items()}
    for k in ("opt_g", "opt_d"):
        st = ck[k]
        out[k] = {"param_groups": st["param_groups"],
                  "state": {i: {"step": s["step"], "exp_avg_sq": s["exp_avg_sq"].bfloat16()} for i, s in st["state"].items()}}
    return out


def unslim(ck):
    """The inverse of `slim`: float32 weights and moments (first moments zero)."""
    if ck.get("format") != "slim":
        return ck
    out = {"recipe": ck["recipe"], "state": ck["state"]}
    for k in ("g", "d", "g_ema"):
        out[k] = {n: v.float() for n, v in ck[k].items()}
    for k in ("opt_g", "opt_d"):
        st = ck[k]
        out[k] = {"param_groups": st["param_groups"],
                  "state": {i: {"step": s["step"], "exp_avg": torch.zeros_like(s["exp_avg_sq"], dtype=torch.float32),
                                "exp_avg_sq": s["exp_avg_sq"].float()} for i, s in st["state"].items()}}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="", help="uint8 [N, R, R, C] .npy of training images (required to train)")
    p.add_argument("--run", required=True, help="run folder: checkpoint.pt, generator.pth, samples.png, metrics.jsonl")
    p.add_argument("--sizes", default="256,256,256,96,48,24", help="generator channels [z, 4x4, 8x8, …]")
    p.add_argument("--dwidths", default="24,48,96,192", help="discriminator widths from the full resolution down")
    p.add_argument("--batch", default="32", help="batch size per level (4x4, 8x8, …)")
    p.add_argument("--kimg-first", type=float, default=20, help="thousand images at 4x4")
    p.add_argument("--kimg-fade", type=float, default=30, help="thousand images per fade-in")
    p.add_argument("--kimg-stable", type=float, default=30, help="thousand images per stable phase")
    p.add_argument("--kimg", type=float, default=1e9, help="stop after this many thousand images")
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--r1-gamma", type=float, default=1.0)
    p.add_argument("--r1-every", type=int, default=8)
    p.add_argument("--ema-kimg", type=float, default=10.0, help="half-life of the generator's average, kimg")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=0, help="stop (after a checkpoint) after this long")
    p.add_argument("--checkpoint-minutes", type=float, default=5)
    p.add_argument("--resume", action="store_true", help="continue from <run>/checkpoint.pt (or a slim one)")
    p.add_argument("--slim-to", default="", help="write <run>/checkpoint.pt as a slim checkpoint (fp16 weights) to this path and exit")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    if args.slim_to:
        save_atomic(slim(torch.load(os.path.join(args.run, "checkpoint.pt"), weights_only=False)), args.slim_to)
        print(json.dumps({"slim": args.slim_to, "bytes": os.path.getsize(args.slim_to)}))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    dwidths = [int(s) for s in args.dwidths.split(",")]
    if not args.data:
        p.error("--data is required to train")
    if not os.path.exists(args.data):
        sys.exit(f"error: --data: {args.data}: no such file")
    data = np.load(args.data, mmap_mode="r")
    if data.ndim != 4 or data.dtype != np.uint8:
        sys.exit(f"{args.data}: expected uint8 [N, R, R, C], got {data.dtype} {data.shape}")
    n_data, res, _, channels = data.shape
    g = Generator(sizes, channels)
    if g.resolution != res:
        sys.exit(f"--sizes make {g.resolution}px images, but {args.data} holds {res}px")
    d = Discriminator(res, channels, dwidths)
    g_ema = Generator(sizes, channels)
    g_ema.load_state_dict(g.state_dict())
    for q in g_ema.parameters():
        q.requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    levels = g.levels
    batches = [int(b) for b in args.batch.split(",")]
    phases = schedule(levels, args.kimg_fade, args.kimg_stable, args.kimg_first)
    # What shapes the model and its training; the data file counts by content (export_scenes.ts is deterministic),
    # not by path, so a run resumes from another copy of it.
    recipe = {k: v for k, v in vars(args).items()
              if k not in ("resume", "max_minutes", "checkpoint_minutes", "threads", "kimg", "run", "slim_to", "data")}
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    state = {"step": 0, "images": 0, "seconds": 0.0, "phase": 0}
    rng = np.random.default_rng(args.seed)
    if args.resume and os.path.exists(ckpt_path):
        ck = unslim(torch.load(ckpt_path, weights_only=False))
        diff = {k: (ck["recipe"].get(k), v) for k, v in recipe.items() if ck["recipe"].get(k) != v}
        if diff:
            sys.exit(f"{ckpt_path}: made with other settings {diff}; use another --run or drop --resume")
        g.load_state_dict(ck["g"]); d.load_state_dict(ck["d"]); g_ema.load_state_dict(ck["g_ema"])
        if "opt_g" in ck:
            opt_g.load_state_dict(ck["opt_g"]); opt_d.load_state_dict(ck["opt_d"])
        state = ck["state"]
        rng = np.random.default_rng([args.seed, state["step"]])
        print(f"resumed at step {state['step']} ({state['images'] / 1000:.0f} kimg)", file=sys.stderr)
    torch.manual_seed(args.seed + state["step"])
    fixed_z = torch.from_numpy(np.random.default_rng(12345).standard_normal((64, sizes[0])).astype(np.float32))

    def checkpoint(final=False):
        # Slim (fp16 weights, bf16 second moments, ~25 MB): small enough to commit, so a later session resumes.
        save_atomic(slim({"recipe": recipe, "state": state, "g": g.state_dict(), "d": d.state_dict(),
                          "g_ema": g_ema.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}),
                    ckpt_path)
        level, _, _ = phase_at(phases, state["images"] / 1000)
        with torch.no_grad():
            imgs = g_ema(fixed_z, level=level)
        write_png(os.path.join(args.run, "samples.png"), grid(imgs, scale=max(1, 64 // imgs.shape[-1])))
        if level == levels - 1:
            save_atomic(g_ema.dissection_state_dict(), os.path.join(args.run, "generator.pth"))
        with open(os.path.join(args.run, "state.json.tmp"), "w") as f:
            json.dump({**state, "level": level, "resolution": 4 * 2 ** level, "recipe": recipe}, f, indent=1)
        os.replace(os.path.join(args.run, "state.json.tmp"), os.path.join(args.run, "state.json"))

    t_start = time.time() - state["seconds"]
    t_session = time.time()
    t_ckpt = time.time()
    log = open(os.path.join(args.run, "metrics.jsonl"), "a")
    acc = {}
    while state["images"] < args.kimg * 1000:
        level, alpha, idx = phase_at(phases, state["images"] / 1000)
        if idx != state["phase"]:
            state["phase"] = idx
            print(f"phase {idx}: {4 * 2 ** level}px{' fade-in' if phases[idx][2] else ''}", file=sys.stderr)
        b = batches[min(level, len(batches) - 1)]
        real = torch.from_numpy(data[np.sort(rng.integers(0, n_data, b))].astype(np.float32) / 127.5 - 1)
        real = downsample(real.permute(0, 3, 1, 2), level, levels)
        if alpha < 1:  # blend the real images as the generator's output is blended
            real = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest") * (1 - alpha) + real * alpha
        # discriminator (one batch of fakes serves both updates: its graph is kept for the generator's)
        fake = g(torch.randn(b, sizes[0]), level, alpha)
        r1_now = args.r1_gamma > 0 and state["step"] % args.r1_every == 0
        real.requires_grad_(r1_now)
        d_real = d(real, level, alpha)
        d_fake = d(fake.detach(), level, alpha)
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        if r1_now:
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            r1 = grad.pow(2).sum(dim=(1, 2, 3)).mean()
            loss_d = loss_d + r1 * (args.r1_gamma / 2) * args.r1_every
            acc.setdefault("r1", []).append(r1.item())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # generator
        loss_g = F.softplus(-d(fake, level, alpha)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        # average
        beta = 0.5 ** (b / (args.ema_kimg * 1000))
        beta = min(beta, (1 + state["step"]) / (10 + state["step"]))
        with torch.no_grad():
            for pe, pg in zip(g_ema.parameters(), g.parameters()):
                pe.lerp_(pg, 1 - beta)
        state["step"] += 1
        state["images"] += b
        acc.setdefault("d_loss", []).append(loss_d.item())
        acc.setdefault("g_loss", []).append(loss_g.item())
        if state["step"] % 50 == 0:
            state["seconds"] = time.time() - t_start
            row = {"step": state["step"], "kimg": state["images"] / 1000, "level": level, "alpha": round(alpha, 4),
                   "seconds": round(state["seconds"], 1), **{k: float(np.mean(v)) for k, v in acc.items()}}
            log.write(json.dumps(row) + "\n"); log.flush()
            acc = {}
            print(json.dumps(row), file=sys.stderr)
        out_of_time = args.max_minutes > 0 and time.time() - t_session > args.max_minutes * 60
        if time.time() - t_ckpt > args.checkpoint_minutes * 60 or out_of_time:
            state["seconds"] = time.time() - t_start
            checkpoint()
            t_ckpt = time.time()
            if out_of_time:
                break
    state["seconds"] = time.time() - t_start
    checkpoint()
    print(json.dumps({"run": args.run, **state}))


if __name__ == "__main__":
    main()
