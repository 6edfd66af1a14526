/**
 * The classes of the procedural scenes (see {@link ./scenes.ts}): fixed ids, names and display colours, and
 * the colour-coded picture of a label map.
 *
 * Ids are stable (they index segmenter outputs and saved label maps): 0 sky, 1 cloud, 2 sun, 3 ground
 * (grass or earth), 4 tree (crown and trunk), 5 wall, 6 roof (spires too), 7 door, 8 window, 9 road,
 * 10 water. Display colours are chosen to be told apart, not to look like the class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLASS_ID, labelMapImage, SCENE_CLASSES } from "./scene_classes.ts";
 * assert.equal(SCENE_CLASSES[CLASS_ID.door].name, "door");
 * const labels = new Uint8Array(4 * 4).fill(CLASS_ID.sky);
 * const picture = labelMapImage(labels, { height: 4, width: 4 }); // a 4x4 RawImage in the sky's colour
 * assert.deepEqual([...picture.data.subarray(0, 3)], SCENE_CLASSES[CLASS_ID.sky].display);
 * ```
 * @module
 */
import type { RawImage } from "../io/raw_image.ts";

/** Class ids of the scene data set, by name. */
export const CLASS_ID = {
  sky: 0,
  cloud: 1,
  sun: 2,
  ground: 3,
  tree: 4,
  wall: 5,
  roof: 6,
  door: 7,
  window: 8,
  road: 9,
  water: 10,
} as const;

/** The name of a scene class. */
export type SceneClassName = keyof typeof CLASS_ID;

/** One scene class: its id (its index in {@link SCENE_CLASSES}), name and display colour. */
export interface SceneClass {
  id: number;
  name: SceneClassName;
  /** RGB colour of the class in label-map pictures. */
  display: readonly [number, number, number];
}

/** All scene classes, indexed by id. */
export const SCENE_CLASSES: readonly SceneClass[] = [
  { id: 0, name: "sky", display: [135, 206, 250] },
  { id: 1, name: "cloud", display: [255, 255, 255] },
  { id: 2, name: "sun", display: [255, 215, 0] },
  { id: 3, name: "ground", display: [60, 180, 75] },
  { id: 4, name: "tree", display: [0, 100, 0] },
  { id: 5, name: "wall", display: [230, 190, 138] },
  { id: 6, name: "roof", display: [200, 30, 30] },
  { id: 7, name: "door", display: [128, 0, 128] },
  { id: 8, name: "window", display: [0, 0, 200] },
  { id: 9, name: "road", display: [90, 90, 90] },
  { id: 10, name: "water", display: [0, 190, 190] },
];

/** Number of scene classes (ids are `0 … NUM_SCENE_CLASSES - 1`). */
export const NUM_SCENE_CLASSES = SCENE_CLASSES.length;

/**
 * Picture a label map [H*W] (row-major class ids) with each class's display colour; ids outside the table
 * are drawn black.
 *
 * @param labels Class ids, `height * width` of them.
 * @param size The map's `height` and `width`.
 * @returns An RGB {@link RawImage} of the same size.
 */
export function labelMapImage(labels: Uint8Array, size: { height: number; width: number }): RawImage {
  const { height, width } = size;
  if (labels.length !== height * width) {
    throw new Error(
      `labelMapImage: Expected ${height}*${width} = ${height * width} labels, got ${labels.length}`,
    );
  }
  const data = new Uint8Array(height * width * 3);
  for (let p = 0; p < labels.length; p++) {
    const cls = SCENE_CLASSES[labels[p]];
    if (cls) data.set(cls.display, p * 3);
  }
  return { data, height, width, channels: 3 };
}
