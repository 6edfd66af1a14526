/**
 * Inline display in the Deno Jupyter kernel (`deno jupyter`): images as PNG and raw MIME bundles.
 *
 * `Deno.jupyter` only exists inside the kernel (touching it elsewhere throws), so these helpers check first
 * and fail with a hint at the file-based alternatives.
 *
 * @example
 * ```ts ignore
 * // In a notebook cell:
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageGrid, showImage } from "../lib/viz/mod.ts";
 * const batch = tf.randomUniform([8, 32, 32, 3], -1, 1);
 * await showImage(imageGrid(batch, { cols: 4, scale: 2 }));
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import type * as tf from "@tensorflow/tfjs-core";
import { encodePng } from "../io/png.ts";
import { type RangeOptions, type RawImage, toRawImage } from "../io/raw_image.ts";

/** Whether the code runs inside the Deno Jupyter kernel. */
export function inJupyter(): boolean {
  try {
    return typeof Deno.jupyter.display === "function";
  } catch {
    return false;
  }
}

/**
 * Display a raw MIME bundle (e.g. `{"image/png": base64, "text/plain": "..."}`) in the notebook.
 * `what` names the caller in the error thrown outside Jupyter.
 */
export async function displayBundle(bundle: Record<string, unknown>, what = "displayBundle"): Promise<void> {
  if (!inJupyter()) {
    throw new Error(
      `${what} needs the Deno Jupyter kernel (deno jupyter); in scripts save files instead (savePng, saveFigureHtml, saveFigurePng)`,
    );
  }
  await Deno.jupyter.display(bundle, { raw: true });
  // Deno's kernel can drop the last message a cell sends before its reply (seen under nbconvert with Deno 2.9):
  // an empty stream message after the display keeps the display itself from being that last message.
  await Deno.jupyter.broadcast("stream", { name: "stdout", text: "" });
}

/** The MIME bundle {@link showImage} displays: `image/png` (base64) and a `text/plain` summary. */
export async function imageBundle(
  image: tf.Tensor | RawImage,
  opts: RangeOptions = {},
): Promise<Record<string, string>> {
  const raw = toRawImage(image, opts);
  const png = await encodePng(raw);
  return {
    "image/png": Buffer.from(png).toString("base64"),
    "text/plain": `<image ${raw.width}x${raw.height}, ${raw.channels} channel(s)>`,
  };
}

/**
 * Show an image inline in a notebook: a {@link RawImage} (e.g. from {@link imageGrid}) or a tensor [H,W,C] /
 * [1,H,W,C] with values in `opts.range` (default `"-1,1"`). The caller keeps ownership of tensors.
 */
export async function showImage(image: tf.Tensor | RawImage, opts: RangeOptions = {}): Promise<void> {
  await displayBundle(await imageBundle(image, opts), "showImage");
}
