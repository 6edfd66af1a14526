#!/usr/bin/python3
"""PyTorch side of `deno task bench:generate`: time a PGGAN forward on a safetensors checkpoint.

usage: bench_generate_torch.py <weights.safetensors> <z.safetensors> <batch> <threads> <repeats>
The checkpoint holds ganatomy's HWIO weights (metadata ganatomy.layout = nhwc); prints one JSON line.
"""
import json, math, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, h in header.items():
        assert h["dtype"] == "F32", f"{path}: {name} is {h['dtype']}, expected F32"
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(h["shape"]).copy())
    return out


def pixel_norm(x):
    return x / torch.sqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-8)


def forward(sd, z):
    n_layers = 0
    while f"layer{n_layers + 1}.conv.weight" in sd:
        n_layers += 1
    x = z.view(z.shape[0], z.shape[1], 1, 1)
    for i in range(1, n_layers + 1):
        w, b = sd[f"layer{i}.conv.weight"], sd[f"layer{i}.wscale.b"]
        x = pixel_norm(x)
        if i >= 3 and i % 2 == 1:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.leaky_relu(F.conv2d(x, w, padding=3 if i == 1 else 1) * (math.sqrt(2) / w.shape[2] / math.sqrt(w.shape[1]))
                         + b.view(1, -1, 1, 1), 0.2)
    out = [k for k in sd if k.startswith("output_") and k.endswith(".conv.weight")][0].split(".")[0]
    w, b = sd[f"{out}.conv.weight"], sd[f"{out}.wscale.b"]
    return F.conv2d(pixel_norm(x), w) / math.sqrt(w.shape[1]) + b.view(1, -1, 1, 1)


if __name__ == "__main__":
    weights, zfile, batch, threads, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    sd = {k: (v.permute(3, 2, 0, 1).contiguous() if v.dim() == 4 else v) for k, v in read_safetensors(weights).items()}
    z = read_safetensors(zfile)["z"][:batch]
    forward(sd, z)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        images = forward(sd, z)
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "threads": threads, "batch": batch,
                      "images_per_s": batch / median, "median_s": median,
                      "images_nhwc_sum": float(images.sum())}))
