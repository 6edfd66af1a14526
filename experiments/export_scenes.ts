/**
 * Write training scenes as one `.npy` array (uint8 [N, 64, 64, 3], NHWC) for the PyTorch trainer
 * (`experiments/train_gan_torch.py`). Scene `i` of the file is the training split's scene of seed `first + i`.
 *
 *     deno run -A experiments/export_scenes.ts --count 100000 --out /tmp/scenes_train.npy
 *
 * @module
 */
import { renderScene } from "../lib/data/scenes.ts";
import { commandConfig } from "../lib/util/config.ts";

export const CONFIG = {
  out: { default: "", help: "the .npy file written (atomically)", required: true, meta: "<file.npy>" },
  count: { default: 100000, help: "scenes written", integer: true, min: 1, max: 10_000_000 },
  first: {
    default: 0,
    help: "seed of the first scene (training split: seeds below 1,000,000)",
    integer: true,
    min: 0,
  },
  size: { default: 64, help: "image size in pixels", integer: true, min: 8, max: 256 },
};
const config = commandConfig(CONFIG, {
  command: "deno run -A experiments/export_scenes.ts",
  summary: "Write training scenes as one uint8 .npy array [N, size, size, 3] for the PyTorch trainer.",
});
const { count, size } = config;
const header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${count}, ${size}, ${size}, 3), }`;
// .npy v1.0: magic, version, header length (uint16 LE), header padded with spaces to a multiple of 64, newline.
const pad = 64 - ((10 + header.length + 1) % 64);
const head = new TextEncoder().encode(header + " ".repeat(pad % 64) + "\n");
const prefix = new Uint8Array(10);
prefix.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
new DataView(prefix.buffer).setUint16(8, head.length, true);
const tmp = `${config.out}.tmp`;
const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
await file.write(prefix);
await file.write(head);
const chunk = 1000;
const t0 = performance.now();
for (let start = 0; start < count; start += chunk) {
  const n = Math.min(chunk, count - start);
  const buf = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < n; i++) {
    buf.set(renderScene(config.first + start + i, { size }).image, i * size * size * 3);
  }
  let off = 0;
  while (off < buf.length) off += await file.write(buf.subarray(off));
  if ((start / chunk) % 10 === 0) {
    console.error(`${start + n}/${count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
}
file.close();
await Deno.rename(tmp, config.out);
console.log(JSON.stringify({ out: config.out, count, size, seconds: (performance.now() - t0) / 1000 }));
