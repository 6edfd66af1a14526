/**
 * Connected regions of a label map: 4-connected components of equal labels, and the smallest region that
 * the scene data set keeps (smaller ones are speckle).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelComponents } from "./components.ts";
 * const labels = Uint8Array.from([0, 0, 1, 1, 0, 1, 0, 0, 1]); // 3x3
 * const { ids, classes, areas } = labelComponents(labels, { height: 3, width: 3 });
 * assert.deepEqual([...ids], [0, 0, 1, 2, 0, 1, 0, 0, 1]); // the zeros are 4-connected through the centre
 * // the zeros, the right column, the 1 at the left
 * assert.deepEqual([classes, areas], [[0, 1, 1], [5, 3, 1]]);
 * ```
 * @module
 */

/** The 4-connected components of a label map. */
export interface Components {
  /** Component id per pixel, row-major [H*W]; ids run 0 … count-1 in order of first pixel. */
  ids: Int32Array;
  /** Label of each component. */
  classes: number[];
  /** Pixel count of each component. */
  areas: number[];
}

/**
 * The smallest component (in pixels) that is not speckle at a given image size: 4 pixels at 64x64, scaled
 * with the image area, at least 2.
 */
export function defaultMinArea(size: { height: number; width: number }): number {
  return Math.max(2, Math.round((4 * size.height * size.width) / 4096));
}

/**
 * Split a label map into 4-connected components of equal labels.
 *
 * @param labels Labels, row-major, `height * width` of them.
 * @param size The map's `height` and `width`.
 */
export function labelComponents(
  labels: ArrayLike<number>,
  size: { height: number; width: number },
): Components {
  const { height: h, width: w } = size;
  if (labels.length !== h * w) {
    throw new Error(`labelComponents: Expected ${h}*${w} labels, got ${labels.length}`);
  }
  const ids = new Int32Array(h * w).fill(-1);
  const classes: number[] = [];
  const areas: number[] = [];
  const stack = new Int32Array(h * w);
  for (let start = 0; start < h * w; start++) {
    if (ids[start] >= 0) continue;
    const id = classes.length;
    const cls = labels[start];
    let top = 0;
    let area = 0;
    stack[top++] = start;
    ids[start] = id;
    while (top > 0) {
      const i = stack[--top];
      area++;
      const x = i % w;
      // The four neighbours, inlined: this loop runs for every pixel of every scene.
      if (x > 0 && ids[i - 1] < 0 && labels[i - 1] === cls) (ids[i - 1] = id), (stack[top++] = i - 1);
      if (x < w - 1 && ids[i + 1] < 0 && labels[i + 1] === cls) (ids[i + 1] = id), (stack[top++] = i + 1);
      if (i >= w && ids[i - w] < 0 && labels[i - w] === cls) (ids[i - w] = id), (stack[top++] = i - w);
      if (i < (h - 1) * w && ids[i + w] < 0 && labels[i + w] === cls) {
        (ids[i + w] = id), (stack[top++] = i + w);
      }
    }
    classes.push(cls);
    areas.push(area);
  }
  return { ids, classes, areas };
}
