import { strict as assert } from "node:assert";
import type { RawImage } from "../io/raw_image.ts";
import { drawText, fitText, glyph, GLYPH_HEIGHT, GLYPH_WIDTH, textSize } from "./font.ts";

function blank(height: number, width: number): RawImage {
  return { data: new Uint8Array(height * width * 3).fill(255), height, width, channels: 3 };
}

function inkCount(img: RawImage): number {
  let n = 0;
  for (let p = 0; p < img.height * img.width; p++) if (img.data[p * 3] < 128) n++;
  return n;
}

Deno.test("every printable ASCII character has its own glyph", () => {
  const seen = new Set<string>();
  for (let code = 32; code < 127; code++) {
    const ch = String.fromCharCode(code);
    const bitmap = glyph(ch);
    assert.equal(bitmap.length, GLYPH_WIDTH * GLYPH_HEIGHT);
    if (ch !== " ") assert.ok(bitmap.some((v) => v === 1), `glyph ${ch} is empty`);
    const key = bitmap.join("");
    assert.ok(!seen.has(key), `glyph ${ch} duplicates another glyph`);
    seen.add(key);
  }
  assert.equal(glyph("é"), glyph("\u0001"), "unknown characters share the box glyph");
});

Deno.test("textSize and fitText", () => {
  assert.deepEqual(textSize("abc"), { width: 17, height: 8 });
  assert.deepEqual(textSize("ab\nlonger", { scale: 2 }), { width: 70, height: 36 });
  assert.deepEqual(textSize(""), { width: 0, height: 8 });
  assert.equal(fitText("layer4", 100), "layer4");
  assert.equal(fitText("layer4", 29), "laye."); // 5 characters fit in 29 pixels
  assert.ok(textSize(fitText("a long caption", 40)).width <= 40);
  assert.equal(fitText("abc", 3), "");
});

Deno.test("drawText inks only inside the text box, scaled and clipped", () => {
  const img = blank(30, 60);
  drawText(img, "Hi!", { x: 3, y: 4, scale: 2, color: [0, 0, 0] });
  const { width, height } = textSize("Hi!", { scale: 2 });
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const ink = img.data[(y * img.width + x) * 3] === 0;
      const inside = x >= 3 && x < 3 + width && y >= 4 && y < 4 + height;
      if (ink) assert.ok(inside, `ink outside the text box at ${x},${y}`);
    }
  }
  // "H" has 7 + 7 + 3 ink pixels at scale 1: 17, so 68 at scale 2.
  const h = blank(10, 10);
  drawText(h, "H", { x: 1, y: 1 });
  assert.equal(inkCount(h), 17);
  const clipped = blank(4, 4);
  drawText(clipped, "HHHH", { x: -2, y: -2, scale: 3 }); // must not throw
  assert.ok(inkCount(clipped) > 0);
});
