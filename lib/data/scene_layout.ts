/**
 * The scene grammar: a seeded random {@link SceneLayout}, the size-independent description of one outdoor
 * scene (a little church or house in a landscape) that {@link ./scenes.ts} draws.
 *
 * Coordinates are fractions of the image side, x to the right and y downwards, so a layout can be drawn at
 * any size. The grammar keeps objects in context:
 * - the horizon is at y in [0.46, 0.7]; sky above, ground below; clouds and the sun in the sky, above it;
 * - 0–2 buildings stand on the ground (their base below the horizon), the second one smaller and farther;
 *   a building is a wall with a roof on top (a triangle or a flat band), doors at the bottom of the wall and
 *   windows inside it (kept 1 px inside at draw time); a church adds a tower with a spire;
 * - 0–4 trees stand on the ground, in front of or beside the buildings, never behind them;
 * - the foreground holds a road (running up to the main building's door, or to the horizon), a band of
 *   water (everything stands above it), or neither.
 *
 * Layout sampling draws from the scene's {@link Rng} before any pixel noise, so one seed gives the same
 * layout at every image size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../tensor/rng.ts";
 * import { sampleLayout } from "./scene_layout.ts";
 * const layout = sampleLayout(new Rng(3));
 * assert.deepEqual([layout.sky, layout.buildings.length, layout.trees.length], ["overcast", 2, 1]);
 * ```
 * @module
 */
import type { Rng } from "../tensor/rng.ts";
import {
  CLOUD_SWATCHES,
  DOOR_SWATCHES,
  GROUND_SWATCHES,
  ROAD_SWATCHES,
  ROOF_SWATCHES,
  SKY_PALETTES,
  SKY_SWATCHES,
  type SkyPalette,
  SUN_SWATCHES,
  type Swatch,
  TREE_SWATCHES,
  WALL_SWATCHES,
  WATER_SWATCHES,
  WINDOW_SWATCHES,
} from "./scene_palette.ts";

/** A base colour: the point `t` (0 = `a`, 1 = `b`) of the named swatch of a class. */
export interface ColorRef {
  swatch: string;
  t: number;
}

/** An axis-aligned rectangle; in image fractions, or in fractions of a wall for doors and windows. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A window in a wall, in fractions of the wall (0,0 = its top-left corner). */
export interface WindowSpec extends Rect {
  shape: "rect" | "round";
}

/** The sun: a disc. */
export interface SunSpec {
  x: number;
  y: number;
  r: number;
  color: ColorRef;
}

/** A cloud: overlapping round puffs, cut flat at `base`. */
export interface CloudSpec {
  puffs: { x: number; y: number; r: number }[];
  /** y of the cloud's flat underside. */
  base: number;
  /** y of the cloud's top (the gradient starts there). */
  top: number;
  swatch: string;
}

/** A roof on a wall (or a spire on a tower). */
export interface RoofSpec {
  shape: "triangle" | "flat";
  /** Height above the wall top, in image fractions. */
  height: number;
  /** How far the roof reaches past each side of the wall, in image fractions. */
  overhang: number;
  color: ColorRef;
}

/** A church tower: a narrow tall wall in front of the nave, with a spire (or a flat top). */
export interface TowerSpec {
  wall: Rect;
  roof: RoofSpec;
  windows: WindowSpec[];
  /** The tower's door, in fractions of the tower wall (bottom-aligned), if it has one. */
  door: Rect | null;
}

/** A house or a church. */
export interface BuildingSpec {
  kind: "house" | "church";
  /** The wall; `y1` is where it stands on the ground. */
  wall: Rect;
  wallColor: ColorRef;
  roof: RoofSpec;
  /** Doors, in fractions of the wall, each with `y1 = 1` (at the bottom of the wall). */
  doors: Rect[];
  windows: WindowSpec[];
  doorColor: ColorRef;
  windowColor: ColorRef;
  tower: TowerSpec | null;
}

/** A tree: a round or conifer crown on a trunk, standing at (`x`, `base`). */
export interface TreeSpec {
  kind: "round" | "conifer";
  x: number;
  base: number;
  /** Total height, trunk included. */
  height: number;
  /** Crown width. */
  width: number;
  trunkWidth: number;
  trunkHeight: number;
  crownColor: ColorRef;
  trunkColor: ColorRef;
}

/** What fills the bottom of the scene. */
export type ForegroundSpec =
  | { kind: "none" }
  | {
    kind: "road";
    /** x range of the road at the bottom edge and at its far end (`topY`). */
    bottom: [number, number];
    top: [number, number];
    topY: number;
    swatch: string;
  }
  | { kind: "water"; top: number; swatch: string };

/** The full description of one scene, in image fractions (see the module comment). */
export interface SceneLayout {
  horizon: number;
  sky: SkyPalette;
  skySwatch: string;
  groundSwatch: string;
  /** Global light: `brightness` and `warmth` of {@link lightGain}. */
  lighting: { brightness: number; warmth: number };
  sun: SunSpec | null;
  clouds: CloudSpec[];
  foreground: ForegroundSpec;
  /** Front to back order is by `wall.y1` (larger is nearer). */
  buildings: BuildingSpec[];
  trees: TreeSpec[];
}

/** A uniform float in [lo, hi). */
function between(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function colorFrom(rng: Rng, swatches: readonly Swatch[]): ColorRef {
  return { swatch: pick(rng, swatches).name, t: rng.uniform() };
}

function sampleLighting(rng: Rng, sky: SkyPalette): SceneLayout["lighting"] {
  if (sky === "dusk") return { brightness: between(rng, 0.84, 1), warmth: between(rng, 0.3, 1) };
  if (sky === "overcast") return { brightness: between(rng, 0.86, 1.02), warmth: between(rng, -0.7, 0) };
  return { brightness: between(rng, 0.94, 1.1), warmth: between(rng, -0.4, 0.4) };
}

function sampleSun(rng: Rng, sky: SkyPalette, horizon: number): SunSpec | null {
  const chance = sky === "dusk" ? 0.7 : sky === "day" ? 0.5 : 0;
  if (rng.uniform() >= chance) return null;
  const r = between(rng, 0.035, 0.07);
  // A dusk sun hangs low (and may be half set); a day sun is high.
  const y = sky === "dusk" ? between(rng, horizon - 0.14, horizon - 0.01) : between(rng, 0.07, horizon - 0.2);
  return { x: between(rng, 0.08, 0.92), y, r, color: colorFrom(rng, SUN_SWATCHES[sky]) };
}

function sampleClouds(rng: Rng, sky: SkyPalette, horizon: number): CloudSpec[] {
  const count = sky === "overcast" ? rng.int(2, 6) : rng.int(0, 4);
  const clouds: CloudSpec[] = [];
  for (let i = 0; i < count; i++) {
    const width = sky === "overcast" ? between(rng, 0.2, 0.42) : between(rng, 0.12, 0.3);
    const cx = between(rng, -0.05, 1.05);
    const base = between(rng, 0.1, horizon - 0.06);
    const puffCount = rng.int(3, 7);
    const puffs = [];
    let top = base;
    for (let k = 0; k < puffCount; k++) {
      // Puffs spread along the width, the middle ones larger: a cumulus outline.
      const along = puffCount === 1 ? 0.5 : k / (puffCount - 1);
      const r = width * between(rng, 0.14, 0.22) * (1.25 - Math.abs(along - 0.5));
      const x = cx - width / 2 + along * width;
      const y = base - r * between(rng, 0.2, 0.7);
      top = Math.min(top, y - r);
      puffs.push({ x, y, r });
    }
    clouds.push({ puffs, base, top, swatch: pick(rng, CLOUD_SWATCHES[sky]).name });
  }
  return clouds;
}

/** Windows on a wall of the given size (image fractions), avoiding the doors; in wall fractions. */
function sampleWindows(rng: Rng, kind: "house" | "church", wall: Rect, doors: Rect[]): WindowSpec[] {
  const w = wall.x1 - wall.x0;
  const h = wall.y1 - wall.y0;
  const windows: WindowSpec[] = [];
  const clearOfDoors = (win: Rect) => doors.every((d) => win.x1 + 0.04 < d.x0 || win.x0 > d.x1 + 0.04);
  if (kind === "church") {
    // One row of tall narrow windows.
    const count = rng.int(2, 6);
    const ww = Math.min(0.7 / count, between(rng, 0.035, 0.055) / w);
    const y0 = between(rng, 0.18, 0.3);
    const y1 = Math.min(0.82, y0 + between(rng, 0.3, 0.5));
    for (let i = 0; i < count; i++) {
      const cx = (i + 0.5) / count;
      const win = { shape: "rect" as const, x0: cx - ww / 2, x1: cx + ww / 2, y0, y1 };
      if (clearOfDoors(win)) windows.push(win);
    }
    return windows;
  }
  // Houses: a grid of rows x columns of squarish windows.
  const rows = h > 0.16 ? rng.int(1, 3) : 1;
  const cols = rng.int(1, Math.max(2, Math.min(5, Math.floor(w / 0.09))));
  const ww = Math.min(0.6 / cols, between(rng, 0.045, 0.07) / w);
  const wh = Math.min(0.55 / rows, between(rng, 0.045, 0.075) / h);
  for (let r = 0; r < rows; r++) {
    const cy = rows === 1 ? between(rng, 0.3, 0.45) : 0.25 + r * 0.4;
    for (let c = 0; c < cols; c++) {
      const cx = (c + 0.5) / cols;
      const win = {
        shape: "rect" as const,
        x0: cx - ww / 2,
        x1: cx + ww / 2,
        y0: cy - wh / 2,
        y1: cy + wh / 2,
      };
      // A window above a door is fine when it clears the door's top.
      const overDoor = doors.some((d) =>
        win.x1 + 0.04 >= d.x0 && win.x0 <= d.x1 + 0.04 && win.y1 + 0.08 > d.y0
      );
      if (!overDoor && rng.uniform() < 0.9) windows.push(win);
    }
  }
  return windows;
}

/** Doors in the main wall: 0–1 beside a tower door, 1 for a church, else 0 (a third of houses), 1 or 2. */
function doorCount(rng: Rng, kind: "house" | "church", hasTowerDoor: boolean): number {
  if (hasTowerDoor) return rng.int(0, 2);
  if (kind === "church") return 1;
  return rng.int(3) === 0 ? 0 : rng.int(1, 3);
}

function sampleDoors(rng: Rng, kind: "house" | "church", wall: Rect, hasTowerDoor: boolean): Rect[] {
  const w = wall.x1 - wall.x0;
  const h = wall.y1 - wall.y0;
  const count = doorCount(rng, kind, hasTowerDoor);
  const doors: Rect[] = [];
  for (let i = 0; i < count; i++) {
    const dw = between(rng, 0.05, kind === "church" ? 0.09 : 0.075) / w;
    const dh = Math.min(0.7, between(rng, 0.08, 0.14) / h);
    // Doors sit at the bottom of the wall, spread over its width.
    const cx = count === 1 ? between(rng, 0.3, 0.7) : (i + 0.5) / count + between(rng, -0.08, 0.08);
    doors.push({ x0: cx - dw / 2, x1: cx + dw / 2, y0: 1 - dh, y1: 1 });
  }
  return doors;
}

function sampleRoof(rng: Rng, shape: "triangle" | "flat", wallWidth: number): RoofSpec {
  return {
    shape,
    height: shape === "flat" ? between(rng, 0.025, 0.04) : wallWidth * between(rng, 0.22, 0.45),
    overhang: between(rng, 0.008, 0.02),
    color: colorFrom(rng, ROOF_SWATCHES),
  };
}

function sampleTower(rng: Rng, nave: Rect, naveRoof: RoofSpec): TowerSpec {
  const naveWidth = nave.x1 - nave.x0;
  const tw = Math.min(naveWidth * 0.45, between(rng, 0.08, 0.14));
  const where = rng.int(3); // 0 left end, 1 right end, 2 front centre
  const cx = where === 0
    ? nave.x0 + tw * between(rng, 0.1, 0.5)
    : where === 1
    ? nave.x1 - tw * between(rng, 0.1, 0.5)
    : (nave.x0 + nave.x1) / 2;
  const top = nave.y0 - Math.max(naveRoof.height, 0.04) - between(rng, 0.02, 0.12);
  const wall = { x0: cx - tw / 2, x1: cx + tw / 2, y0: Math.max(0.12, top), y1: nave.y1 };
  const spire = rng.uniform() < 0.8;
  const roof: RoofSpec = {
    shape: spire ? "triangle" : "flat",
    height: spire ? tw * between(rng, 1.2, 2.4) : 0.025,
    overhang: between(rng, 0.005, 0.012),
    color: rng.uniform() < 0.5 ? naveRoof.color : colorFrom(rng, ROOF_SWATCHES),
  };
  const th = wall.y1 - wall.y0;
  const windows: WindowSpec[] = [];
  // A belfry opening near the top, and sometimes a round window below it.
  const bw = Math.min(0.5, 0.035 / tw);
  windows.push({
    shape: "rect",
    x0: 0.5 - bw / 2,
    x1: 0.5 + bw / 2,
    y0: 0.1,
    y1: 0.1 + Math.min(0.25, 0.06 / th),
  });
  if (rng.uniform() < 0.5) {
    const d = Math.min(0.6, 0.05 / tw);
    const dy = (d * tw) / th;
    windows.push({ shape: "round", x0: 0.5 - d / 2, x1: 0.5 + d / 2, y0: 0.42, y1: 0.42 + dy });
  }
  const hasDoor = where === 2 || rng.uniform() < 0.4;
  const dw = Math.min(0.6, 0.055 / tw);
  const dh = Math.min(0.4, between(rng, 0.08, 0.12) / th);
  const door = hasDoor ? { x0: 0.5 - dw / 2, x1: 0.5 + dw / 2, y0: 1 - dh, y1: 1 } : null;
  return { wall, roof, windows, door };
}

function sampleBuilding(
  rng: Rng,
  sky: SkyPalette,
  place: { cx: number; base: number; scale: number },
): BuildingSpec {
  const kind = rng.uniform() < 0.55 ? "church" : "house";
  const width = place.scale * (kind === "church" ? between(rng, 0.42, 0.7) : between(rng, 0.3, 0.55));
  const height = place.scale * (kind === "church" ? between(rng, 0.17, 0.3) : between(rng, 0.15, 0.27));
  const wall = {
    x0: place.cx - width / 2,
    x1: place.cx + width / 2,
    y0: place.base - height,
    y1: place.base,
  };
  const roof = sampleRoof(rng, kind === "church" || rng.uniform() < 0.7 ? "triangle" : "flat", width);
  const tower = kind === "church" ? sampleTower(rng, wall, roof) : null;
  const doors = sampleDoors(rng, kind, wall, tower?.door != null);
  // Doors hidden by a tower in front are dropped: the tower wall covers them.
  const visibleDoors = tower === null ? doors : doors.filter((d) => {
    const x0 = wall.x0 + d.x0 * width;
    const x1 = wall.x0 + d.x1 * width;
    return x1 + 0.01 < tower.wall.x0 || x0 - 0.01 > tower.wall.x1;
  });
  const windows = sampleWindows(rng, kind, wall, visibleDoors);
  const lit = sky === "dusk" && rng.uniform() < 0.7;
  return {
    kind,
    wall,
    wallColor: colorFrom(rng, WALL_SWATCHES),
    roof,
    doors: visibleDoors,
    windows,
    doorColor: colorFrom(rng, DOOR_SWATCHES),
    windowColor: colorFrom(rng, WINDOW_SWATCHES[lit ? "lit" : "dark"]),
    tower,
  };
}

function sampleTree(rng: Rng, x: number, base: number, horizon: number): TreeSpec {
  const kind = rng.uniform() < 0.35 ? "conifer" : "round";
  // Nearer trees (lower base) are larger.
  const nearness = (base - horizon) / (1 - horizon);
  const height = between(rng, 0.16, 0.3) * (0.6 + 0.8 * nearness);
  const width = height * (kind === "conifer" ? between(rng, 0.45, 0.6) : between(rng, 0.55, 0.8));
  const autumn = kind === "round" && rng.uniform() < 0.2;
  const crownSwatches = TREE_SWATCHES.filter((s) =>
    kind === "conifer" ? s.name === "conifer" : s.name === (autumn ? "autumn" : "leaf green")
  );
  return {
    kind,
    x,
    base,
    height,
    width,
    trunkWidth: Math.max(0.012, width * between(rng, 0.1, 0.16)),
    trunkHeight: height * between(rng, 0.18, 0.3),
    crownColor: colorFrom(rng, crownSwatches),
    trunkColor: colorFrom(rng, TREE_SWATCHES.filter((s) => s.name === "trunk")),
  };
}

/** The x extent of a building, tower and roof overhang included. */
function footprint(b: BuildingSpec): [number, number] {
  const x0 = Math.min(b.wall.x0 - b.roof.overhang, b.tower ? b.tower.wall.x0 : Infinity);
  const x1 = Math.max(b.wall.x1 + b.roof.overhang, b.tower ? b.tower.wall.x1 : -Infinity);
  return [x0, x1];
}

function sampleTrees(rng: Rng, horizon: number, groundBottom: number, buildings: BuildingSpec[]): TreeSpec[] {
  const count = rng.int(0, 5);
  const trees: TreeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const x = between(rng, 0.02, 0.98);
    let base = between(rng, horizon + 0.03, groundBottom);
    // A tree overlapping a building stands in front of it (never behind).
    for (const b of buildings) {
      const [x0, x1] = footprint(b);
      if (x > x0 - 0.1 && x < x1 + 0.1 && base < b.wall.y1 + 0.015) {
        base = b.wall.y1 + between(rng, 0.015, 0.08);
      }
    }
    if (base > groundBottom) continue; // no room in front: no tree here
    trees.push(sampleTree(rng, x, base, horizon));
  }
  return trees;
}

/** A road from the bottom edge up to the main building's door, or to a point on the horizon. */
function sampleRoad(
  rng: Rng,
  horizon: number,
  mainDoor: { x0: number; x1: number; y: number } | null,
): ForegroundSpec {
  const bw = between(rng, 0.22, 0.45);
  const bc = between(rng, 0.3, 0.7);
  const x = between(rng, 0.2, 0.8);
  const far = mainDoor ?? { x0: x - 0.01, x1: x + 0.01, y: horizon };
  return {
    kind: "road",
    bottom: [bc - bw / 2, bc + bw / 2],
    top: [far.x0, far.x1],
    topY: far.y,
    swatch: pick(rng, ROAD_SWATCHES).name,
  };
}

/**
 * Sample one scene layout from `rng` (see the module comment for the grammar).
 *
 * @example
 * ```ts
 * import { Rng } from "../tensor/rng.ts";
 * import { sampleLayout } from "./scene_layout.ts";
 * const { horizon, buildings } = sampleLayout(new Rng(0)); // horizon in [0.46, 0.7]
 * ```
 */
export function sampleLayout(rng: Rng): SceneLayout {
  const sky = pick(rng, SKY_PALETTES);
  const horizon = between(rng, 0.46, 0.7);
  const lighting = sampleLighting(rng, sky);
  const skySwatch = pick(rng, SKY_SWATCHES[sky]).name;
  const groundSwatch = pick(rng, GROUND_SWATCHES).name;
  const sun = sampleSun(rng, sky, horizon);
  const clouds = sampleClouds(rng, sky, horizon);

  const fgRoll = rng.uniform();
  const fgKind = fgRoll < 0.35 ? "road" : fgRoll < 0.6 ? "water" : "none";
  const waterTop = fgKind === "water" ? horizon + between(rng, 0.55, 0.75) * (1 - horizon) : 1;
  // Everything stands on the ground, above the water.
  const groundBottom = Math.min(0.97, waterTop - 0.02);

  const countRoll = rng.uniform();
  const buildingCount = countRoll < 0.1 ? 0 : countRoll < 0.65 ? 1 : 2;
  const buildings: BuildingSpec[] = [];
  if (buildingCount > 0) {
    const base = between(rng, horizon + 0.45 * (groundBottom - horizon), groundBottom);
    const cx = buildingCount === 1 ? between(rng, 0.3, 0.7) : between(rng, 0.25, 0.55);
    buildings.push(sampleBuilding(rng, sky, { cx, base, scale: 1 }));
  }
  if (buildingCount > 1) {
    // The second building is farther away (smaller, its base nearer the horizon), to one side.
    const main = buildings[0];
    const base = between(rng, horizon + 0.15 * (main.wall.y1 - horizon), main.wall.y1 - 0.03);
    const side = rng.uniform() < 0.5 ? -1 : 1;
    const cx = side < 0 ? between(rng, 0.05, main.wall.x0 + 0.05) : between(rng, main.wall.x1 - 0.05, 0.95);
    buildings.push(sampleBuilding(rng, sky, { cx, base, scale: between(rng, 0.55, 0.8) }));
  }

  const main = buildings[0];
  const doorOf = (b: BuildingSpec) => {
    if (b.tower?.door) {
      const w = b.tower.wall;
      const d = b.tower.door;
      return { x0: w.x0 + d.x0 * (w.x1 - w.x0), x1: w.x0 + d.x1 * (w.x1 - w.x0), y: w.y1 - 0.005 };
    }
    if (b.doors.length === 0) return null;
    const d = b.doors[0];
    const w = b.wall;
    return { x0: w.x0 + d.x0 * (w.x1 - w.x0), x1: w.x0 + d.x1 * (w.x1 - w.x0), y: w.y1 - 0.005 };
  };
  const foreground: ForegroundSpec = fgKind === "water"
    ? { kind: "water", top: waterTop, swatch: pick(rng, WATER_SWATCHES[sky]).name }
    : fgKind === "road"
    ? sampleRoad(rng, horizon, main ? doorOf(main) : null)
    : { kind: "none" };
  const trees = sampleTrees(rng, horizon, groundBottom, buildings);
  return { horizon, sky, skySwatch, groundSwatch, lighting, sun, clouds, foreground, buildings, trees };
}
