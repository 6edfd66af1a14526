/**
 * A built-in 5x8 bitmap font for printable ASCII, drawn straight into 8-bit image buffers, so captions need
 * no system fonts, SVG or canvas.
 *
 * Each glyph is 5 pixels wide and 8 tall: rows 0..6 hold capitals and digits (baseline under row 6), row 7
 * holds descenders. Characters advance by 6 pixels and lines by 10, times the integer `scale`. Characters
 * outside printable ASCII are drawn as a hollow box.
 *
 * @example
 * ```ts
 * import { drawText, textSize } from "./font.ts";
 * const { width, height } = textSize("unit 42", { scale: 2 });
 * const img = { data: new Uint8Array(width * height * 3).fill(255), height, width, channels: 3 };
 * drawText(img, "unit 42", { scale: 2, color: [200, 0, 0] });
 * ```
 * @module
 */
import { checkRawImage, type RawImage } from "../io/raw_image.ts";

/** Glyph width in font pixels. */
export const GLYPH_WIDTH = 5;
/** Glyph height in font pixels, including the descender row. */
export const GLYPH_HEIGHT = 8;
/** Horizontal distance between the starts of two characters, in font pixels. */
export const CHAR_ADVANCE = 6;
/** Vertical distance between the tops of two lines, in font pixels. */
export const LINE_ADVANCE = 10;

/** An RGB (or grey, or RGBA) colour as 0..255 values. */
export type Color = readonly number[];

// Each glyph: 8 rows of 5 pixels, top to bottom, "#" = ink. Designed for this project.
const GLYPH_ROWS: Record<string, string> = {
  " ": "..... ..... ..... ..... ..... ..... ..... .....",
  "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.. .....",
  '"': ".#.#. .#.#. ..... ..... ..... ..... ..... .....",
  "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#. .....",
  "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#.. .....",
  "%": "##... ##..# ...#. ..#.. .#... #..## ...## .....",
  "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.# .....",
  "'": "..#.. ..#.. ..... ..... ..... ..... ..... .....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#. .....",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#... .....",
  "*": "..... ..#.. #.#.# .###. #.#.# ..#.. ..... .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. ..... .....",
  ",": "..... ..... ..... ..... ..... .##.. ..#.. .#...",
  "-": "..... ..... ..... ##### ..... ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##.. .....",
  "/": "..... ....# ...#. ..#.. .#... #.... ..... .....",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###. .....",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###. .....",
  "2": ".###. #...# ....# ...#. ..#.. .#... ##### .....",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###. .....",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#. .....",
  "5": "##### #.... ####. ....# ....# #...# .###. .....",
  "6": "..##. .#... #.... ####. #...# #...# .###. .....",
  "7": "##### ....# ...#. ..#.. .#... .#... .#... .....",
  "8": ".###. #...# #...# .###. #...# #...# .###. .....",
  "9": ".###. #...# #...# .#### ....# ...#. .##.. .....",
  ":": "..... .##.. .##.. ..... .##.. .##.. ..... .....",
  ";": "..... .##.. .##.. ..... .##.. .##.. ..#.. .#...",
  "<": "...#. ..#.. .#... #.... .#... ..#.. ...#. .....",
  "=": "..... ..... ##### ..... ##### ..... ..... .....",
  ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#... .....",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#.. .....",
  "@": ".###. #...# ....# .##.# #.#.# #.#.# .###. .....",
  "A": ".###. #...# #...# ##### #...# #...# #...# .....",
  "B": "####. #...# #...# ####. #...# #...# ####. .....",
  "C": ".###. #...# #.... #.... #.... #...# .###. .....",
  "D": "###.. #..#. #...# #...# #...# #..#. ###.. .....",
  "E": "##### #.... #.... ####. #.... #.... ##### .....",
  "F": "##### #.... #.... ####. #.... #.... #.... .....",
  "G": ".###. #...# #.... #.### #...# #...# .#### .....",
  "H": "#...# #...# #...# ##### #...# #...# #...# .....",
  "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##.. .....",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...# .....",
  "L": "#.... #.... #.... #.... #.... #.... ##### .....",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...# .....",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...# .....",
  "O": ".###. #...# #...# #...# #...# #...# .###. .....",
  "P": "####. #...# #...# ####. #.... #.... #.... .....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.# .....",
  "R": "####. #...# #...# ####. #.#.. #..#. #...# .....",
  "S": ".#### #.... #.... .###. ....# ....# ####. .....",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. .....",
  "U": "#...# #...# #...# #...# #...# #...# .###. .....",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#.. .....",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#. .....",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...# .....",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.. .....",
  "Z": "##### ....# ...#. ..#.. .#... #.... ##### .....",
  "[": ".###. .#... .#... .#... .#... .#... .###. .....",
  "\\": "..... #.... .#... ..#.. ...#. ....# ..... .....",
  "]": ".###. ...#. ...#. ...#. ...#. ...#. .###. .....",
  "^": "..#.. .#.#. #...# ..... ..... ..... ..... .....",
  "_": "..... ..... ..... ..... ..... ..... ..... #####",
  "`": ".#... ..#.. ..... ..... ..... ..... ..... .....",
  "a": "..... ..... .###. ....# .#### #...# .#### .....",
  "b": "#.... #.... #.##. ##..# #...# #...# ####. .....",
  "c": "..... ..... .###. #.... #.... #...# .###. .....",
  "d": "....# ....# .##.# #..## #...# #...# .#### .....",
  "e": "..... ..... .###. #...# ##### #.... .###. .....",
  "f": "..##. .#..# .#... ###.. .#... .#... .#... .....",
  "g": "..... ..... .#### #...# #...# .#### ....# .###.",
  "h": "#.... #.... #.##. ##..# #...# #...# #...# .....",
  "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###. .....",
  "j": "...#. ..... ..##. ...#. ...#. ...#. #..#. .##..",
  "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#. .....",
  "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",
  "m": "..... ..... ##.#. #.#.# #.#.# #...# #...# .....",
  "n": "..... ..... #.##. ##..# #...# #...# #...# .....",
  "o": "..... ..... .###. #...# #...# #...# .###. .....",
  "p": "..... ..... ####. #...# #...# ####. #.... #....",
  "q": "..... ..... .#### #...# #...# .#### ....# ....#",
  "r": "..... ..... #.##. ##..# #.... #.... #.... .....",
  "s": "..... ..... .###. #.... .###. ....# ####. .....",
  "t": ".#... .#... ###.. .#... .#... .#..# ..##. .....",
  "u": "..... ..... #...# #...# #...# #..## .##.# .....",
  "v": "..... ..... #...# #...# #...# .#.#. ..#.. .....",
  "w": "..... ..... #...# #...# #.#.# #.#.# .#.#. .....",
  "x": "..... ..... #...# .#.#. ..#.. .#.#. #...# .....",
  "y": "..... ..... #...# #...# #...# .#### ....# .###.",
  "z": "..... ..... ##### ...#. ..#.. .#... ##### .....",
  "{": "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#. .....",
  "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. .....",
  "}": ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#... .....",
  "~": "..... ..... .#... #.#.# ...#. ..... ..... .....",
};

/** Drawn for characters the font lacks. */
const MISSING_ROWS = "##### #...# #...# #...# #...# #...# ##### .....";

/** Parse "#"/"." rows into a [GLYPH_HEIGHT * GLYPH_WIDTH] 0/1 bitmap. */
function parseGlyph(ch: string, rows: string): Uint8Array {
  const parts = rows.split(" ");
  if (parts.length !== GLYPH_HEIGHT || parts.some((r) => r.length !== GLYPH_WIDTH || /[^#.]/.test(r))) {
    throw new Error(
      `font: glyph ${JSON.stringify(ch)} must be ${GLYPH_HEIGHT} rows of ${GLYPH_WIDTH} "#"/"."`,
    );
  }
  return Uint8Array.from(parts.join(""), (c) => (c === "#" ? 1 : 0));
}

const GLYPHS = new Map(Object.entries(GLYPH_ROWS).map(([ch, rows]) => [ch, parseGlyph(ch, rows)]));
const MISSING = parseGlyph("missing", MISSING_ROWS);

/**
 * The bitmap of one character: [GLYPH_HEIGHT * GLYPH_WIDTH] values, 1 = ink, row-major. Unknown characters
 * give a hollow box.
 */
export function glyph(ch: string): Uint8Array {
  return GLYPHS.get(ch) ?? MISSING;
}

/** Options of {@link textSize} and {@link drawText}. */
export interface TextOptions {
  /** Integer pixel magnification; default 1 (glyphs 5x8 pixels). */
  scale?: number;
}

function checkScale(scale: number): number {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(`font: scale must be a positive integer, got ${scale}`);
  }
  return scale;
}

/**
 * Pixel size of `text` (lines split at "\n"): width `(chars * 6 - 1) * scale` of the longest line, height
 * `(lines * 10 - 2) * scale`. Empty text has width 0.
 */
export function textSize(text: string, opts: TextOptions = {}): { width: number; height: number } {
  const scale = checkScale(opts.scale ?? 1);
  const lines = text.split("\n");
  const longest = Math.max(...lines.map((l) => [...l].length));
  const width = longest === 0 ? 0 : (longest * CHAR_ADVANCE - (CHAR_ADVANCE - GLYPH_WIDTH)) * scale;
  const height = (lines.length * LINE_ADVANCE - (LINE_ADVANCE - GLYPH_HEIGHT)) * scale;
  return { width, height };
}

/**
 * Shorten `text` to at most `maxWidth` pixels (one line), ending with "." when cut. Returns "" when not even
 * one character fits.
 */
export function fitText(text: string, maxWidth: number, opts: TextOptions = {}): string {
  const scale = checkScale(opts.scale ?? 1);
  const chars = [...text.replaceAll("\n", " ")];
  const fits = Math.floor((maxWidth / scale + (CHAR_ADVANCE - GLYPH_WIDTH)) / CHAR_ADVANCE);
  if (chars.length <= fits) return chars.join("");
  if (fits <= 1) return fits === 1 ? chars[0] : "";
  return chars.slice(0, fits - 1).join("") + ".";
}

/** Options of {@link drawText}. */
export interface DrawTextOptions extends TextOptions {
  /** Left edge in image pixels; default 0. */
  x?: number;
  /** Top edge in image pixels; default 0. */
  y?: number;
  /**
   * Ink colour, one value per image channel: extra values are ignored, missing ones (alpha) are 255; default
   * black `[0, 0, 0]`.
   */
  color?: Color;
}

/**
 * Draw `text` into `image` in place (pixels outside the image are clipped). Lines split at "\n".
 *
 * @example
 * ```ts
 * import { drawText } from "./font.ts";
 * const img = { data: new Uint8Array(20 * 60 * 3).fill(255), height: 20, width: 60, channels: 3 };
 * drawText(img, "Hello", { x: 2, y: 2, scale: 2 }); // black, 58x16 pixels
 * ```
 */
export function drawText(image: RawImage, text: string, opts: DrawTextOptions = {}): void {
  checkRawImage(image, "drawText image");
  const scale = checkScale(opts.scale ?? 1);
  const color = opts.color ?? [0, 0, 0];
  const { data, width, height, channels } = image;
  const x0 = Math.round(opts.x ?? 0);
  const y0 = Math.round(opts.y ?? 0);
  text.split("\n").forEach((line, lineIndex) => {
    [...line].forEach((ch, charIndex) => {
      const bitmap = glyph(ch);
      const gx = x0 + charIndex * CHAR_ADVANCE * scale;
      const gy = y0 + lineIndex * LINE_ADVANCE * scale;
      for (let r = 0; r < GLYPH_HEIGHT * scale; r++) {
        const y = gy + r;
        if (y < 0 || y >= height) continue;
        for (let c = 0; c < GLYPH_WIDTH * scale; c++) {
          const x = gx + c;
          if (x < 0 || x >= width) continue;
          if (!bitmap[Math.floor(r / scale) * GLYPH_WIDTH + Math.floor(c / scale)]) continue;
          const o = (y * width + x) * channels;
          for (let k = 0; k < channels; k++) data[o + k] = k < color.length ? color[k] : 255;
        }
      }
    });
  });
}
