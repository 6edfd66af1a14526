/**
 * PNG encoding and decoding through npm `sharp` (libvips), for image tensors and {@link RawImage} records;
 * and the PNG files of a folder ({@link listPngs}).
 *
 * `sharp` is loaded on first use, so importing this module costs nothing until a PNG is read or written.
 * It is always fed 8-bit data: float input to sharp silently produces black images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { loadPngRaw, savePng } from "./png.ts";
 * const img = tf.tidy(() => tf.reshape(tf.linspace(-1, 1, 8 * 8 * 3), [8, 8, 3])); // values in [-1, 1]
 * await savePng("/tmp/ganatomy_example/ramp.png", img); // range "-1,1" is the default
 * img.dispose();
 * const back = await loadPngRaw("/tmp/ganatomy_example/ramp.png"); // { data, height, width, channels }
 * assert.deepEqual([back.height, back.width, back.channels], [8, 8, 3]);
 * assert.deepEqual([back.data[0], back.data.at(-1)], [0, 255]); // the ends of the ramp
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import type { Sharp, SharpOptions } from "sharp";
import { writeFileAtomic } from "./atomic.ts";
import {
  convertChannels,
  type RangeOptions,
  type RawImage,
  rawImageToTensor,
  toRawImage,
} from "./raw_image.ts";

type SharpFactory = (input?: Uint8Array, options?: SharpOptions) => Sharp;

let sharpPromise: Promise<SharpFactory> | undefined;

/** Load `sharp` once, lazily (its native library needs FFI permission). */
function loadSharp(): Promise<SharpFactory> {
  sharpPromise ??= import("sharp").then((m) => m.default as unknown as SharpFactory);
  return sharpPromise;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` starts with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Options of {@link encodePng} and {@link savePng}. */
export interface EncodePngOptions extends RangeOptions {
  /** zlib compression level 0..9; default 6. */
  compressionLevel?: number;
}

/**
 * Encode an image as PNG bytes. `image` is a tensor [H,W,C] or [1,H,W,C] (C = 1, 3 or 4) with values in
 * `opts.range` (default `"-1,1"`, clamped), or a {@link RawImage}. The caller keeps ownership of tensors.
 */
export async function encodePng(
  image: tf.Tensor | RawImage,
  opts: EncodePngOptions = {},
): Promise<Uint8Array> {
  const raw = toRawImage(image, opts);
  const sharp = await loadSharp();
  const { width, height } = raw;
  const channels = raw.channels as 1 | 2 | 3 | 4;
  let pipeline = sharp(raw.data, { raw: { width, height, channels } });
  // Without this, sharp takes 1-channel input as sRGB and writes an RGB PNG.
  if (channels <= 2) pipeline = pipeline.toColourspace("b-w");
  const buf = await pipeline.png({ compressionLevel: opts.compressionLevel ?? 6 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Encode an image as PNG (see {@link encodePng}) and write it atomically to `path`, creating folders.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { savePng } from "./png.ts";
 * const mask = tf.ones([16, 16, 1]);
 * await savePng("/tmp/ganatomy_example/mask.png", mask, { range: "0,1" }); // a white square
 * mask.dispose();
 * ```
 */
export async function savePng(
  path: string,
  image: tf.Tensor | RawImage,
  opts: EncodePngOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await encodePng(image, opts));
}

/** Options of the PNG decoders. */
export interface DecodePngOptions {
  /**
   * Channels of the result: 1 (grey), 3 (RGB) or 4 (RGBA). Default: 1 for grey PNGs, otherwise 3 (alpha is
   * dropped).
   */
  channels?: 1 | 3 | 4;
  /** Name used in error messages (the file path when loading); default `"PNG data"`. */
  name?: string;
}

/**
 * Largest image decoded, in pixels: 2^26 = 67,108,864 (8192 × 8192), 16 times a 2048 × 2048 photo and far
 * beyond the project's samples and grids. Decoding needs up to 8 bytes per pixel (16-bit RGBA), so the bound
 * keeps one image under 512 MiB; sharp's own default (0x3FFF², 268 million pixels) lets a 115-byte file
 * claim gigabytes.
 */
export const MAX_PNG_PIXELS = 2 ** 26;

/** Width and height from the IHDR chunk, which must come first; throws naming `name` if it is missing. */
export function pngSize(bytes: Uint8Array, name = "PNG data"): { width: number; height: number } {
  if (!isPng(bytes)) throw new Error(`${name} is not a PNG file (bad signature)`);
  const ihdr = bytes.length >= 24 && String.fromCharCode(...bytes.subarray(12, 16)) === "IHDR";
  if (!ihdr) throw new Error(`${name} is not a PNG file (no IHDR chunk after the signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16, false), height: view.getUint32(20, false) };
}

/**
 * Decode PNG bytes to an 8-bit {@link RawImage} (16-bit PNGs are reduced to 8 bits). Throws, naming
 * `opts.name`, for bytes that are not a PNG, an image of more than {@link MAX_PNG_PIXELS} pixels (read from
 * the header before decoding anything) or data that does not decode.
 */
export async function decodePng(bytes: Uint8Array, opts: DecodePngOptions = {}): Promise<RawImage> {
  const name = opts.name ?? "PNG data";
  const { width, height } = pngSize(bytes, name);
  if (width === 0 || height === 0 || width * height > MAX_PNG_PIXELS) {
    throw new Error(
      `Could not decode ${name}: its header declares ${width} x ${height} pixels` +
        (width === 0 || height === 0 ? "" : `, more than the ${MAX_PNG_PIXELS} supported`),
    );
  }
  const sharp = await loadSharp();
  const options: SharpOptions = { limitInputPixels: MAX_PNG_PIXELS };
  let decoded;
  try {
    const { channels } = await sharp(bytes, options).metadata();
    // sharp outputs sRGB unless told otherwise; keep grey PNGs grey.
    const pipeline = channels <= 2 ? sharp(bytes, options).toColourspace("b-w") : sharp(bytes, options);
    decoded = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message.trim().replace(/\s*[\r\n]+\s*/g, "; ");
    throw new Error(`Could not decode ${name}: ${message}`, { cause: err });
  }
  const { data, info } = decoded;
  const raw: RawImage = {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    height: info.height,
    width: info.width,
    channels: info.channels,
  };
  const target = opts.channels ?? (raw.channels <= 2 ? 1 : 3);
  return convertChannels(raw, target);
}

async function readPngFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`PNG file not found: ${path}`, { cause: err });
    throw new Error(`Could not read PNG file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Read a PNG file as an 8-bit {@link RawImage}; errors name the file. */
export async function loadPngRaw(path: string, opts: Omit<DecodePngOptions, "name"> = {}): Promise<RawImage> {
  return decodePng(await readPngFile(path), { ...opts, name: path });
}

/**
 * Read a PNG file as a float32 tensor [H,W,C] with values in [0,1]; the caller disposes it. Errors name the
 * file (missing, not a PNG).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadPng, savePng } from "./png.ts";
 * const red = { data: new Uint8Array([255, 0, 0, 255, 0, 0]), height: 1, width: 2, channels: 3 };
 * await savePng("/tmp/ganatomy_example/red.png", red);
 * const img = await loadPng("/tmp/ganatomy_example/red.png"); // [1, 2, 3] in [0, 1]
 * assert.deepEqual(img.arraySync(), [[[1, 0, 0], [1, 0, 0]]]);
 * img.dispose();
 * ```
 */
export async function loadPng(path: string, opts: Omit<DecodePngOptions, "name"> = {}): Promise<tf.Tensor3D> {
  return rawImageToTensor(await loadPngRaw(path, opts));
}

/** The PNG files of a folder (not recursive), sorted by name. Throws if there are none. */
export async function listPngs(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.toLowerCase().endsWith(".png")) files.push(entry.name);
  }
  if (files.length === 0) throw new Error(`${dir}: no .png files`);
  return files.sort().map((f) => join(dir, f));
}
