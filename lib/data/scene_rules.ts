/**
 * The grammar check of the defect map: the pixels of a segmentation that break the scene grammar of
 * {@link ./scene_layout.ts}, found from the 4-connected regions ("components") of each class.
 *
 * Rules (one bit each in {@link GrammarCheck.violations}; a flagged component is flagged whole):
 * - `speckle`: a component smaller than `minArea` pixels;
 * - `doorOffWall`: a door with under 25% of its border on wall (border shared with trees, which may stand
 *   in front, is not counted; a door, window or roof half or more surrounded by trees gets no verdict);
 * - `windowOffWall`: a window with under 50% of its border on wall (trees not counted);
 * - `roofNotOnWall`: a roof with under 30% of what lies directly below it being wall (trees not counted):
 *   catches roofs in the air, on the ground, or below their wall, and roofs reaching the bottom edge (a
 *   piece under 4·`minArea` pixels that touches a tree is taken as cut off by the tree and gets no verdict);
 * - `skyObjectBelowHorizon`: cloud or sun pixels below the horizon, and cloud or sun components that touch
 *   no sky at all (unless they touch the image edge, where the sky may be out of frame). The horizon is the 20th percentile, over columns, of the first row of ground, road or
 *   water from the top;
 * - `groundAboveSky`: where a ground, road or water component lies above a sky component in some column,
 *   the smaller of the two;
 * - `treeNotGrounded`: a tree with no ground or road directly below it that does not reach the bottom edge;
 * - `wallNotGrounded`: a wall with nothing that may carry it (ground, road, water, door, tree, roof of a
 *   nearer building) directly below it that does not reach the bottom edge.
 *
 * @example
 * ```ts
 * import { renderScene } from "./scenes.ts";
 * import { grammarViolations } from "./scene_rules.ts";
 * const scene = renderScene(1);
 * const { violations } = grammarViolations(scene.labels, { height: 64, width: 64 }); // all zero on a clean scene
 * ```
 * @module
 */
import { defaultMinArea, labelComponents } from "./components.ts";
import { CLASS_ID, NUM_SCENE_CLASSES } from "./scene_classes.ts";

/** The grammar rules and their bits in {@link GrammarCheck.violations}. */
export const GRAMMAR_RULES = {
  speckle: 1,
  doorOffWall: 2,
  windowOffWall: 4,
  roofNotOnWall: 8,
  skyObjectBelowHorizon: 16,
  groundAboveSky: 32,
  treeNotGrounded: 64,
  wallNotGrounded: 128,
} as const;

/** The name of a grammar rule. */
export type GrammarRule = keyof typeof GRAMMAR_RULES;

/** Options of {@link grammarViolations}. */
export interface GrammarOptions {
  /** Components under this many pixels are speckle; default {@link defaultMinArea} (4 at 64x64). */
  minArea?: number;
}

/** The result of {@link grammarViolations}. */
export interface GrammarCheck {
  /** Bitmask of broken {@link GRAMMAR_RULES} per pixel, row-major [H*W]; 0 where the grammar holds. */
  violations: Uint8Array;
  /** Estimated horizon row (the height when no ground is visible). */
  horizon: number;
  /** Number of 4-connected components. */
  components: number;
}

const GROUND_LIKE = new Set<number>([CLASS_ID.ground, CLASS_ID.road, CLASS_ID.water]);

/** Estimate the horizon row: the 20th percentile over columns of the first ground-like row. */
function horizonRow(labels: Uint8Array, h: number, w: number): number {
  const rows: number[] = [];
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (GROUND_LIKE.has(labels[y * w + x])) {
        rows.push(y);
        break;
      }
    }
  }
  if (rows.length < Math.max(1, w / 10)) return h;
  rows.sort((a, b) => a - b);
  return rows[Math.floor(0.2 * (rows.length - 1))];
}

/**
 * Find the pixels of a segmentation that break the scene grammar (see the module comment).
 *
 * @param labels Class ids (see {@link CLASS_ID}), row-major, `height * width` of them.
 * @param size The map's `height` and `width`.
 * @param opts `minArea` of a component that is not speckle.
 */
export function grammarViolations(
  labels: Uint8Array,
  size: { height: number; width: number },
  opts: GrammarOptions = {},
): GrammarCheck {
  const { height: h, width: w } = size;
  if (labels.length !== h * w) {
    throw new Error(`grammarViolations: Expected ${h}*${w} labels, got ${labels.length}`);
  }
  const bad = labels.findIndex((l) => l >= NUM_SCENE_CLASSES);
  if (bad >= 0) {
    throw new Error(
      `grammarViolations: Expected class ids 0..${NUM_SCENE_CLASSES - 1}, got ${labels[bad]} at ${bad}`,
    );
  }
  const minArea = opts.minArea ?? defaultMinArea(size);
  const { ids, classes, areas } = labelComponents(labels, size);
  const n = classes.length;
  const C = NUM_SCENE_CLASSES;
  // Per component: border edges to each other class, pixels of each other class directly below.
  const border = new Int32Array(n * C);
  const below = new Int32Array(n * C);
  const atBottom = new Uint8Array(n);
  const atEdge = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const id = ids[i];
      const cls = labels[i];
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) atEdge[id] = 1;
      if (x > 0 && labels[i - 1] !== cls) border[id * C + labels[i - 1]]++;
      if (x < w - 1 && labels[i + 1] !== cls) border[id * C + labels[i + 1]]++;
      if (y > 0 && labels[i - w] !== cls) border[id * C + labels[i - w]]++;
      if (y < h - 1) {
        if (labels[i + w] !== cls) {
          border[id * C + labels[i + w]]++;
          below[id * C + labels[i + w]]++;
        }
      } else {
        atBottom[id] = 1;
      }
    }
  }
  const sum = (table: Int32Array, id: number, classesOf?: readonly number[]) => {
    let s = 0;
    for (let c = 0; c < C; c++) if (!classesOf || classesOf.includes(c)) s += table[id * C + c];
    return s;
  };
  /**
   * Share of a component's border (or below-row) on `support`, ignoring trees in front; 1 (no verdict)
   * when trees hide half of its border or more.
   */
  const share = (table: Int32Array, id: number, support: readonly number[]) => {
    const treeBorder = border[id * C + CLASS_ID.tree];
    if (2 * treeBorder >= sum(border, id)) return 1;
    const total = sum(table, id) - table[id * C + CLASS_ID.tree];
    return total <= 0 ? 1 : sum(table, id, support) / total;
  };

  const flags = new Uint8Array(n);
  for (let id = 0; id < n; id++) {
    const cls = classes[id];
    if (areas[id] < minArea) flags[id] |= GRAMMAR_RULES.speckle;
    if (cls === CLASS_ID.door && share(border, id, [CLASS_ID.wall]) < 0.25) {
      flags[id] |= GRAMMAR_RULES.doorOffWall;
    }
    if (cls === CLASS_ID.window && share(border, id, [CLASS_ID.wall]) < 0.5) {
      flags[id] |= GRAMMAR_RULES.windowOffWall;
    }
    // A small piece of roof beside a tree is taken as cut off from its roof by the tree.
    const roofPiece = areas[id] < 4 * minArea && border[id * C + CLASS_ID.tree] > 0;
    const unsupported = atBottom[id] || share(below, id, [CLASS_ID.wall]) < 0.3;
    if (cls === CLASS_ID.roof && !roofPiece && unsupported) {
      flags[id] |= GRAMMAR_RULES.roofNotOnWall;
    }
    const skyObject = cls === CLASS_ID.cloud || cls === CLASS_ID.sun;
    if (skyObject && !atEdge[id] && border[id * C + CLASS_ID.sky] === 0) {
      flags[id] |= GRAMMAR_RULES.skyObjectBelowHorizon;
    }
    if (cls === CLASS_ID.tree && !atBottom[id] && sum(below, id, [CLASS_ID.ground, CLASS_ID.road]) === 0) {
      flags[id] |= GRAMMAR_RULES.treeNotGrounded;
    }
    const carriers = [
      CLASS_ID.ground,
      CLASS_ID.road,
      CLASS_ID.water,
      CLASS_ID.door,
      CLASS_ID.tree,
      CLASS_ID.roof,
    ];
    if (cls === CLASS_ID.wall && !atBottom[id] && sum(below, id, carriers) === 0) {
      flags[id] |= GRAMMAR_RULES.wallNotGrounded;
    }
  }

  // Ground above sky: for each column, pair every sky component with the ground-like components above it.
  const pairs = new Set<number>();
  for (let x = 0; x < w; x++) {
    let groundAbove = -1;
    for (let y = 0; y < h; y++) {
      const i = y * w + x;
      const cls = labels[i];
      if (GROUND_LIKE.has(cls)) groundAbove = ids[i];
      else if (cls === CLASS_ID.sky && groundAbove >= 0) pairs.add(groundAbove * n + ids[i]);
    }
  }
  for (const key of pairs) {
    const ground = Math.floor(key / n);
    const sky = key % n;
    flags[areas[ground] <= areas[sky] ? ground : sky] |= GRAMMAR_RULES.groundAboveSky;
  }

  const horizon = horizonRow(labels, h, w);
  const violations = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) {
    let v = flags[ids[i]];
    const cls = labels[i];
    if ((cls === CLASS_ID.cloud || cls === CLASS_ID.sun) && Math.floor(i / w) > horizon) {
      v |= GRAMMAR_RULES.skyObjectBelowHorizon;
    }
    violations[i] = v;
  }
  return { violations, horizon, components: n };
}
