/**
 * Colour maps for heat-maps: 256-entry RGB lookup tables interpolated linearly between a few anchor colours.
 *
 * - `viridis`: perceptually ordered dark purple → blue → green → yellow (anchors close to matplotlib's).
 * - `jet`: dark blue → blue → cyan → yellow → red → dark red, the classic rainbow map of activation overlays.
 * - `gray`: black → white.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colormap, colorAt } from "./colormap.ts";
 * const lut = colormap("viridis"); // 256 RGB triples
 * assert.equal(lut.length, 768);
 * assert.deepEqual(colorAt("jet", 1), [128, 0, 0]); // jet ends in dark red
 * ```
 * @module
 */

/** Names of the built-in colour maps. */
export type ColormapName = "viridis" | "jet" | "gray";

/** Anchors: position in [0,1] and RGB colour, positions increasing from 0 to 1. */
type Anchor = readonly [number, readonly [number, number, number]];

const ANCHORS: Record<ColormapName, readonly Anchor[]> = {
  viridis: [
    [0.0, [68, 1, 84]],
    [0.25, [59, 82, 139]],
    [0.5, [33, 145, 140]],
    [0.75, [94, 201, 98]],
    [1.0, [253, 231, 37]],
  ],
  jet: [
    [0.0, [0, 0, 128]],
    [0.125, [0, 0, 255]],
    [0.375, [0, 255, 255]],
    [0.625, [255, 255, 0]],
    [0.875, [255, 0, 0]],
    [1.0, [128, 0, 0]],
  ],
  gray: [
    [0.0, [0, 0, 0]],
    [1.0, [255, 255, 255]],
  ],
};

/** Number of entries of every lookup table. */
export const COLORMAP_SIZE = 256;

function buildTable(anchors: readonly Anchor[]): Uint8Array {
  const table = new Uint8Array(COLORMAP_SIZE * 3);
  let seg = 0;
  for (let i = 0; i < COLORMAP_SIZE; i++) {
    const t = i / (COLORMAP_SIZE - 1);
    while (seg < anchors.length - 2 && t > anchors[seg + 1][0]) seg++;
    const [t0, c0] = anchors[seg];
    const [t1, c1] = anchors[seg + 1];
    const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    for (let k = 0; k < 3; k++) table[i * 3 + k] = Math.round(c0[k] + f * (c1[k] - c0[k]));
  }
  return table;
}

const tables = new Map<ColormapName, Uint8Array>();

/**
 * The lookup table of a colour map: [256 * 3] RGB bytes, entry i for value i / 255. Shared: do not modify.
 */
export function colormap(name: ColormapName): Uint8Array {
  let table = tables.get(name);
  if (table === undefined) {
    const anchors = ANCHORS[name];
    if (anchors === undefined) {
      throw new Error(`Unknown colour map "${name}"; expected one of ${Object.keys(ANCHORS).join(", ")}`);
    }
    table = buildTable(anchors);
    tables.set(name, table);
  }
  return table;
}

/** Index into a table for a value in [0,1] (clamped; NaN counts as 0). */
export function colormapIndex(value: number): number {
  if (!(value > 0)) return 0;
  if (value >= 1) return COLORMAP_SIZE - 1;
  return Math.round(value * (COLORMAP_SIZE - 1));
}

/** The RGB colour of `value` in [0,1] (clamped) under colour map `name`. */
export function colorAt(name: ColormapName, value: number): [number, number, number] {
  const table = colormap(name);
  const i = colormapIndex(value) * 3;
  return [table[i], table[i + 1], table[i + 2]];
}

/**
 * Plotly colour scale for the same map, e.g. `[[0, "rgb(68,1,84)"], ..., [1, "rgb(253,231,37)"]]`, so
 * interactive figures match the saved overlays.
 */
export function plotlyColorscale(name: ColormapName): [number, string][] {
  colormap(name); // validates the name
  return ANCHORS[name].map(([t, [r, g, b]]) => [t, `rgb(${r},${g},${b})`]);
}
