/**
 * Labelled image grids: a batch of images laid out in rows and columns, upscaled by an integer factor, with
 * optional row labels (left column), column labels (top row) and per-image captions (under each image), drawn
 * with the built-in bitmap font.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageGrid } from "./grid.ts";
 * import { savePng } from "../io/png.ts";
 * const batch = tf.randomUniform([6, 32, 32, 3], -1, 1); // [N, H, W, C] generator output
 * const grid = imageGrid(batch, { cols: 3, scale: 2, rowLabels: ["before", "after"], captions: ["a", "b"] });
 * batch.dispose();
 * await savePng("/tmp/ganatomy_example/grid.png", grid);
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  checkRawImage,
  convertChannels,
  type RawImage,
  toRawImages,
  type ValueRange,
} from "../io/raw_image.ts";
import { type Color, drawText, fitText, GLYPH_HEIGHT, textSize } from "./font.ts";

/** Options of {@link gridLayout} and {@link imageGrid}. */
export interface GridOptions {
  /** Number of rows; default `rowLabels.length`, else enough for `cols`, else about sqrt(N). */
  rows?: number;
  /** Number of columns; default `colLabels.length`, else enough for `rows`, else ceil(sqrt(N)). */
  cols?: number;
  /** One label per row, drawn left of the row, vertically centred; at most `rows`. */
  rowLabels?: string[];
  /** One label per column, drawn above it, centred and shortened to the image width; at most `cols`. */
  colLabels?: string[];
  /** One caption per image (row-major order), drawn under it, shortened to the image width; at most N. */
  captions?: string[];
  /** Gap in output pixels between cells and around the border; default 2. */
  padding?: number;
  /** Integer nearest-neighbour magnification of each image; default 1. */
  scale?: number;
  /** Integer magnification of the 5x8 font; default 1. */
  fontScale?: number;
  /** Background RGB colour; default white `[255, 255, 255]`. */
  background?: Color;
  /** Label RGB colour; default black `[0, 0, 0]`. */
  textColor?: Color;
  /** Value range of tensor input (see {@link ValueRange}); default `"-1,1"`. */
  range?: ValueRange;
}

/** Where {@link imageGrid} puts everything, in output pixels. */
export interface GridLayout {
  rows: number;
  cols: number;
  /** Size of the whole grid image. */
  width: number;
  height: number;
  /** Size of one upscaled image. */
  cellWidth: number;
  cellHeight: number;
  /** Left edge of the images of each column. */
  colLefts: number[];
  /** Top edge of the images of each row. */
  rowTops: number[];
  /** Top-left corner of each image, in input order (row by row). */
  cells: { x: number; y: number }[];
  /** Width of the row-label column (0 without row labels), starting at x = padding. */
  labelWidth: number;
  /** Height of the column-label row (0 without column labels), starting at y = padding. */
  labelHeight: number;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`imageGrid: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function resolveRowsCols(count: number, opts: GridOptions): { rows: number; cols: number } {
  let rows = opts.rows ?? opts.rowLabels?.length;
  let cols = opts.cols ?? opts.colLabels?.length;
  if (rows === undefined && cols === undefined) cols = Math.ceil(Math.sqrt(count));
  if (rows === undefined) rows = Math.ceil(count / positiveInt(cols!, "cols"));
  if (cols === undefined) cols = Math.ceil(count / positiveInt(rows, "rows"));
  positiveInt(rows, "rows");
  positiveInt(cols, "cols");
  if (rows * cols < count) {
    throw new Error(`imageGrid: ${rows} rows x ${cols} cols cannot hold ${count} images`);
  }
  return { rows, cols };
}

/**
 * Compute the layout of a grid of `count` images of `imageHeight` x `imageWidth` pixels (see
 * {@link GridOptions}); {@link imageGrid} draws exactly this layout.
 */
export function gridLayout(
  count: number,
  imageSize: { height: number; width: number },
  opts: GridOptions = {},
): GridLayout {
  positiveInt(count, "the number of images");
  const padding = opts.padding ?? 2;
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(`imageGrid: padding must be a non-negative integer, got ${padding}`);
  }
  const scale = positiveInt(opts.scale ?? 1, "scale");
  const fontScale = positiveInt(opts.fontScale ?? 1, "fontScale");
  const { rows, cols } = resolveRowsCols(count, opts);
  if ((opts.rowLabels?.length ?? 0) > rows) {
    throw new Error(`imageGrid: ${opts.rowLabels!.length} row labels for ${rows} rows`);
  }
  if ((opts.colLabels?.length ?? 0) > cols) {
    throw new Error(`imageGrid: ${opts.colLabels!.length} column labels for ${cols} columns`);
  }
  if ((opts.captions?.length ?? 0) > count) {
    throw new Error(`imageGrid: ${opts.captions!.length} captions for ${count} images`);
  }
  const cellWidth = imageSize.width * scale;
  const cellHeight = imageSize.height * scale;
  const lineHeight = GLYPH_HEIGHT * fontScale;
  const labelWidth = opts.rowLabels?.length
    ? Math.max(...opts.rowLabels.map((l) => textSize(l, { scale: fontScale }).width)) + padding
    : 0;
  const labelHeight = opts.colLabels?.length ? lineHeight + padding : 0;
  // A caption sits one font pixel under its image.
  const captionHeight = opts.captions?.length ? lineHeight + fontScale : 0;
  const rowPitch = cellHeight + captionHeight + padding;
  const colPitch = cellWidth + padding;
  const colLefts = Array.from({ length: cols }, (_, c) => padding + labelWidth + c * colPitch);
  const rowTops = Array.from({ length: rows }, (_, r) => padding + labelHeight + r * rowPitch);
  const cells = Array.from(
    { length: count },
    (_, i) => ({ x: colLefts[i % cols], y: rowTops[Math.floor(i / cols)] }),
  );
  return {
    rows,
    cols,
    width: padding + labelWidth + cols * colPitch,
    height: padding + labelHeight + rows * rowPitch,
    cellWidth,
    cellHeight,
    colLefts,
    rowTops,
    cells,
    labelWidth,
    labelHeight,
  };
}

/** Copy `src` (RGB) into `dst` (RGB) at (x0, y0), each source pixel becoming a `scale` x `scale` block. */
function blitScaled(dst: RawImage, src: RawImage, x0: number, y0: number, scale: number): void {
  for (let y = 0; y < src.height * scale; y++) {
    const srcRow = Math.floor(y / scale) * src.width;
    const dstRow = (y0 + y) * dst.width + x0;
    for (let x = 0; x < src.width * scale; x++) {
      const s = (srcRow + Math.floor(x / scale)) * 3;
      const d = (dstRow + x) * 3;
      dst.data[d] = src.data[s];
      dst.data[d + 1] = src.data[s + 1];
      dst.data[d + 2] = src.data[s + 2];
    }
  }
}

/**
 * Lay images out in a labelled grid and return it as an RGB {@link RawImage}.
 *
 * `images` is a tensor [N,H,W,C] (C = 1, 3 or 4; values in `opts.range`, default `"-1,1"`; the caller keeps
 * ownership) or an array of same-sized {@link RawImage}s. Grey images are shown as grey RGB, alpha is
 * dropped. Images fill the grid row by row; see {@link GridOptions} for the layout and {@link gridLayout}
 * for the resulting geometry.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageGrid } from "./grid.ts";
 * const batch = tf.zeros([4, 8, 8, 1]); // [N, H, W, C]
 * const grid = imageGrid(batch, { colLabels: ["u1", "u2"], scale: 4 }); // 2x2 cells of 32x32
 * batch.dispose();
 * ```
 */
export function imageGrid(images: tf.Tensor | RawImage[], opts: GridOptions = {}): RawImage {
  const list = Array.isArray(images) ? images : toRawImages(images, { range: opts.range });
  if (list.length === 0) throw new Error("imageGrid: no images");
  list.forEach((img, i) => checkRawImage(img, `imageGrid image ${i}`));
  const { height: h, width: w } = list[0];
  const odd = list.findIndex((img) => img.height !== h || img.width !== w);
  if (odd >= 0) {
    throw new Error(
      `imageGrid: all images must have the same size; image 0 is ${h}x${w}, image ${odd} is ${
        list[odd].height
      }x${list[odd].width}`,
    );
  }
  const layout = gridLayout(list.length, { height: h, width: w }, opts);
  const padding = opts.padding ?? 2;
  const scale = opts.scale ?? 1;
  const fontScale = opts.fontScale ?? 1;
  const background = opts.background ?? [255, 255, 255];
  const color = opts.textColor ?? [0, 0, 0];

  const out: RawImage = {
    data: new Uint8Array(layout.width * layout.height * 3),
    height: layout.height,
    width: layout.width,
    channels: 3,
  };
  const fill = Uint8Array.from(background.slice(0, 3));
  for (let p = 0; p < layout.width * layout.height; p++) out.data.set(fill, p * 3);

  list.forEach((img, i) =>
    blitScaled(out, convertChannels(img, 3), layout.cells[i].x, layout.cells[i].y, scale)
  );

  const drawCentred = (text: string, cellX: number, y: number) => {
    const fitted = fitText(text, layout.cellWidth, { scale: fontScale });
    const x = cellX + Math.floor((layout.cellWidth - textSize(fitted, { scale: fontScale }).width) / 2);
    drawText(out, fitted, { x, y, scale: fontScale, color });
  };
  opts.captions?.forEach((caption, i) => {
    const { x, y } = layout.cells[i];
    drawCentred(caption, x, y + layout.cellHeight + fontScale);
  });
  opts.colLabels?.forEach((label, c) => drawCentred(label, layout.colLefts[c], padding));
  opts.rowLabels?.forEach((label, r) => {
    const textHeight = textSize(label, { scale: fontScale }).height;
    const y = layout.rowTops[r] + Math.floor((layout.cellHeight - textHeight) / 2);
    drawText(out, label, { x: padding, y, scale: fontScale, color });
  });
  return out;
}
