/**
 * The colour model of the procedural scenes, shared by the renderer ({@link ./scenes.ts}) and the colour
 * check of the defect map ({@link ./scene_color.ts}).
 *
 * A pixel of class `c` is `clamp(gain ⊙ (shade · base) + noise)`:
 * - `base` lies on one of the class's {@link Swatch}es, the segment from `a` to `b` (a vertical gradient
 *   for sky, ground, water and clouds; one point of it per object for walls, roofs, doors, …);
 * - `shade` is the class's texture, in {@link CLASS_STYLE}`[c].shade` (grass blades, brick courses, ripples);
 * - `gain` is the scene's lighting, {@link lightGain}`(brightness, warmth)`, one per image;
 * - `noise` is bounded: a luminance term in ±{@link NOISE}`.luminance` on all channels plus a chroma term
 *   in ±{@link NOISE}`.chroma` on red and blue.
 *
 * So every clean pixel lies within about 9 (of 255) of `gain ⊙ shade · swatch`, which is what makes the
 * colour check of the defect map nearly silent on real scenes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allowedSwatches, lightGain } from "./scene_palette.ts";
 * import { CLASS_ID } from "./scene_classes.ts";
 * assert.equal(allowedSwatches(CLASS_ID.roof).length, 4); // 4 roof colours
 * assert.deepEqual(lightGain(1, 0), [1, 1, 1]); // neutral light
 * ```
 * @module
 */
import { CLASS_ID, NUM_SCENE_CLASSES } from "./scene_classes.ts";

/** An RGB colour, 0..255 per channel. */
export type Rgb = readonly [number, number, number];

/** A family of base colours: every point of the segment from `a` to `b`. */
export interface Swatch {
  name: string;
  a: Rgb;
  b: Rgb;
}

/** The sky palettes: a clear day, dusk, an overcast day. */
export const SKY_PALETTES = ["day", "dusk", "overcast"] as const;

/** The name of a sky palette. */
export type SkyPalette = typeof SKY_PALETTES[number];

/** Sky gradients, top of the image (`a`) to the horizon (`b`). */
export const SKY_SWATCHES: Readonly<Record<SkyPalette, readonly Swatch[]>> = {
  day: [
    { name: "blue", a: [62, 120, 205], b: [168, 204, 236] },
    { name: "pale blue", a: [96, 152, 222], b: [196, 218, 240] },
  ],
  dusk: [
    { name: "violet to orange", a: [58, 56, 118], b: [236, 146, 88] },
    { name: "purple to gold", a: [92, 70, 138], b: [246, 184, 110] },
  ],
  overcast: [
    { name: "light grey", a: [148, 154, 166], b: [202, 204, 208] },
    { name: "dark grey", a: [112, 118, 130], b: [170, 174, 180] },
  ],
};

/** Cloud colours per sky palette, lit top (`a`) to shaded base (`b`). */
export const CLOUD_SWATCHES: Readonly<Record<SkyPalette, readonly Swatch[]>> = {
  day: [{ name: "white", a: [244, 245, 248], b: [200, 206, 218] }],
  dusk: [{ name: "pink", a: [248, 196, 176], b: [176, 120, 136] }],
  overcast: [{ name: "grey", a: [214, 214, 218], b: [150, 152, 162] }],
};

/** Sun colours per sky palette (none when overcast). */
export const SUN_SWATCHES: Readonly<Record<SkyPalette, readonly Swatch[]>> = {
  day: [{ name: "white-yellow", a: [255, 246, 206], b: [255, 252, 232] }],
  dusk: [{ name: "orange", a: [250, 164, 82], b: [255, 204, 120] }],
  overcast: [],
};

/** Water colours per sky palette (it mirrors the sky), far (`a`) to near (`b`). */
export const WATER_SWATCHES: Readonly<Record<SkyPalette, readonly Swatch[]>> = {
  day: [{ name: "blue", a: [92, 140, 196], b: [38, 78, 138] }],
  dusk: [{ name: "mauve", a: [156, 106, 112], b: [72, 56, 98] }],
  overcast: [{ name: "slate", a: [128, 138, 148], b: [76, 88, 100] }],
};

/** Window colours: dark glass by day, lit rooms at dusk. */
export const WINDOW_SWATCHES: Readonly<Record<"dark" | "lit", readonly Swatch[]>> = {
  dark: [{ name: "glass", a: [46, 64, 90], b: [84, 108, 138] }],
  lit: [{ name: "lamplight", a: [236, 200, 112], b: [252, 226, 150] }],
};

/** Ground colours, at the horizon (`a`, hazier) to the bottom of the image (`b`). */
export const GROUND_SWATCHES: readonly Swatch[] = [
  { name: "green grass", a: [112, 160, 76], b: [58, 116, 40] },
  { name: "dry grass", a: [170, 160, 96], b: [122, 112, 54] },
  { name: "meadow", a: [132, 150, 80], b: [84, 106, 44] },
];

/** Tree colours: crowns (deciduous, conifer, autumn) and trunks. */
export const TREE_SWATCHES: readonly Swatch[] = [
  { name: "leaf green", a: [40, 96, 38], b: [70, 128, 50] },
  { name: "conifer", a: [26, 70, 44], b: [40, 92, 58] },
  { name: "autumn", a: [168, 98, 36], b: [196, 132, 48] },
  { name: "trunk", a: [84, 58, 36], b: [108, 76, 48] },
];

/** Wall colours. */
export const WALL_SWATCHES: readonly Swatch[] = [
  { name: "sandstone", a: [212, 196, 164], b: [234, 222, 196] },
  { name: "grey stone", a: [148, 148, 142], b: [184, 184, 176] },
  { name: "red brick", a: [156, 78, 58], b: [182, 98, 72] },
  { name: "whitewash", a: [226, 226, 220], b: [242, 242, 236] },
  { name: "ochre", a: [206, 176, 106], b: [226, 196, 126] },
];

/** Roof colours (spires too). */
export const ROOF_SWATCHES: readonly Swatch[] = [
  { name: "red tiles", a: [150, 52, 40], b: [176, 70, 50] },
  { name: "slate", a: [64, 68, 80], b: [92, 96, 108] },
  { name: "brown tiles", a: [104, 66, 42], b: [130, 86, 58] },
  { name: "copper green", a: [84, 146, 126], b: [108, 168, 148] },
];

/** Door colours. */
export const DOOR_SWATCHES: readonly Swatch[] = [
  { name: "oak", a: [76, 46, 28], b: [104, 66, 38] },
  { name: "red", a: [104, 32, 32], b: [126, 44, 40] },
  { name: "teal", a: [36, 56, 66], b: [52, 78, 88] },
];

/** Road colours, far (`a`) to near (`b`). */
export const ROAD_SWATCHES: readonly Swatch[] = [
  { name: "asphalt", a: [124, 124, 128], b: [92, 92, 98] },
  { name: "gravel", a: [192, 178, 150], b: [166, 150, 124] },
];

/** Texture kinds of the renderer: how `shade` varies over a region. */
export type Texture = "none" | "grain" | "brick" | "tiles" | "ripple";

/** How a class is textured, and the range its shade stays in. */
export interface ClassStyle {
  texture: Texture;
  /** `[min, max]` of the texture's multiplicative shade. */
  shade: readonly [number, number];
}

/** Texture and shade range of each class, indexed by class id. */
export const CLASS_STYLE: readonly ClassStyle[] = [
  { texture: "none", shade: [1, 1] }, // sky
  { texture: "grain", shade: [0.97, 1] }, // cloud
  { texture: "none", shade: [1, 1] }, // sun
  { texture: "grain", shade: [0.86, 1.06] }, // ground
  { texture: "grain", shade: [0.82, 1.1] }, // tree
  { texture: "brick", shade: [0.9, 1.03] }, // wall
  { texture: "tiles", shade: [0.86, 1.04] }, // roof
  { texture: "grain", shade: [0.94, 1.03] }, // door
  { texture: "none", shade: [1, 1] }, // window
  { texture: "grain", shade: [0.94, 1.04] }, // road
  { texture: "ripple", shade: [0.94, 1.12] }, // water
];

/** Bounds of the per-pixel noise, in 0..255 units (see the module comment). */
export const NOISE = { luminance: 5, chroma: 1.5 } as const;

/** The range of the lighting parameters over the data set (see {@link lightGain}). */
export const LIGHTING_RANGE = { brightness: [0.84, 1.1], warmth: [-0.7, 1] } as const;

/**
 * Per-channel gain of the scene lighting: `brightness · (1 + 0.09·warmth, 1, 1 - 0.09·warmth)`; warmth > 0
 * is a warm (reddish) light, < 0 a cool (bluish) one.
 */
export function lightGain(brightness: number, warmth: number): [number, number, number] {
  return [brightness * (1 + 0.09 * warmth), brightness, brightness * (1 - 0.09 * warmth)];
}

function union(record: Readonly<Record<string, readonly Swatch[]>>): Swatch[] {
  return Object.values(record).flat();
}

const ALLOWED: readonly (readonly Swatch[])[] = (() => {
  const table: Swatch[][] = Array.from({ length: NUM_SCENE_CLASSES }, () => []);
  table[CLASS_ID.sky] = union(SKY_SWATCHES);
  table[CLASS_ID.cloud] = union(CLOUD_SWATCHES);
  table[CLASS_ID.sun] = union(SUN_SWATCHES);
  table[CLASS_ID.ground] = [...GROUND_SWATCHES];
  table[CLASS_ID.tree] = [...TREE_SWATCHES];
  table[CLASS_ID.wall] = [...WALL_SWATCHES];
  table[CLASS_ID.roof] = [...ROOF_SWATCHES];
  table[CLASS_ID.door] = [...DOOR_SWATCHES];
  table[CLASS_ID.window] = union(WINDOW_SWATCHES);
  table[CLASS_ID.road] = [...ROAD_SWATCHES];
  table[CLASS_ID.water] = union(WATER_SWATCHES);
  return table;
})();

/** Every swatch a class may be drawn with, over all sky palettes. */
export function allowedSwatches(classId: number): readonly Swatch[] {
  const swatches = ALLOWED[classId];
  if (!swatches) {
    throw new Error(`allowedSwatches: Expected a class id 0..${NUM_SCENE_CLASSES - 1}, got ${classId}`);
  }
  return swatches;
}
