/**
 * File input and output: atomic writes, 8-bit image records, PNG files, checkpoints (safetensors, PyTorch
 * `.pth` read without executing code), numpy's `.npy` / `.npz` arrays (read only, no pickle) and the layout
 * conversions from PyTorch (the only place they happen).
 *
 * @example
 * ```ts
 * import { savePng, writeJsonAtomic } from "./mod.ts";
 * await writeJsonAtomic("/tmp/ganatomy_example/meta.json", { ok: true });
 * await savePng("/tmp/ganatomy_example/dot.png", { data: new Uint8Array([255, 0, 0]), height: 1, width: 1, channels: 3 });
 * ```
 * @module
 */
export * from "./atomic.ts";
export * from "./raw_image.ts";
export * from "./png.ts";
export * from "./dtype.ts";
export * from "./safetensors.ts";
export * from "./pth.ts";
export * from "./layout.ts";
export * from "./hash.ts";
export * from "./npy.ts";
export * from "./npz.ts";
