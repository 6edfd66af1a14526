import { strict as assert } from "node:assert";
import { formatDuration, formatValue, progress, type ProgressWriter, withProgress } from "./progress.ts";

/** A non-TTY writer that collects the text, and a clock the test moves. */
function capture(tty = false): { writer: ProgressWriter; text: () => string; clock: { t: number } } {
  const chunks: Uint8Array[] = [];
  const writer: ProgressWriter = {
    writeSync(p) {
      chunks.push(p.slice());
      return p.length;
    },
    isTerminal: () => tty,
  };
  const text = () => chunks.map((c) => new TextDecoder().decode(c)).join("");
  return { writer, text, clock: { t: 0 } };
}

Deno.test("formatting helpers", () => {
  assert.equal(formatDuration(75), "01:15");
  assert.equal(formatDuration(3700), "1:01:40");
  assert.equal(formatDuration(Number.NaN), "--:--");
  assert.equal(formatValue(3), "3");
  assert.equal(formatValue(0.123456), "0.1235");
  assert.equal(formatValue(0.00002), "2.00e-5");
  assert.equal(formatValue("adam"), "adam");
});

Deno.test("plain lines every interval seconds and at the end, for a non-TTY writer", () => {
  const { writer, text, clock } = capture();
  const p = progress(100, { label: "train", writer, now: () => clock.t });
  for (let i = 0; i < 100; i++) {
    clock.t = (i + 1) * 250; // 4 items per second, 25 s in all
    p.tick(1, { loss: 1 / (i + 1) });
  }
  p.done();
  p.done(); // idempotent
  const lines = text().trimEnd().split("\n");
  assert.deepEqual(lines, [
    "train: 40/100 (40.0%), 4 it/s, elapsed 00:10, ETA 00:15, loss=0.025",
    "train: 80/100 (80.0%), 4 it/s, elapsed 00:20, ETA 00:05, loss=0.0125",
    "train: 100/100 (100.0%), 4 it/s, elapsed 00:25, ETA 00:00, loss=0.01",
  ]);
  assert.ok(!text().includes("\r"), "no carriage returns in plain mode");
});

Deno.test("the final plain line is not repeated when the last periodic one showed the same state", () => {
  const { writer, text, clock } = capture();
  const p = progress(20, { label: "eval", writer, now: () => clock.t });
  clock.t = 10_000;
  p.tick(20); // the periodic line at 100 %
  clock.t = 10_500;
  p.done();
  assert.equal(text(), "eval: 20/20 (100.0%), 2 it/s, elapsed 00:10, ETA 00:00\n");
});

Deno.test("unknown totals, custom interval and slow rates", () => {
  const { writer, text, clock } = capture();
  const p = progress(undefined, { writer, interval: 2, unit: "batch", now: () => clock.t });
  clock.t = 4000;
  p.tick(1);
  p.done({ phase: "eval" });
  assert.equal(
    text(),
    "1 batch, 4 s/batch, elapsed 00:04\n1 batch, 4 s/batch, elapsed 00:04, phase=eval\n",
  );
});

Deno.test("TTY mode redraws one line at most 10 times a second", () => {
  const { writer, text, clock } = capture(true);
  const p = progress(10, { label: "gen", writer, now: () => clock.t, columns: 200, barWidth: 10 });
  for (let i = 0; i < 10; i++) {
    clock.t = (i + 1) * 40; // 25 items per second, ticks 40 ms apart
    p.tick();
  }
  p.done();
  const out = text();
  const draws = out.split("\r").length - 1;
  assert.ok(draws >= 4 && draws <= 6, `${draws} redraws for 400 ms`);
  assert.ok(out.endsWith("gen 100% |██████████| 10/10 [00:00<00:00, 25 it/s]\x1b[K\n"), JSON.stringify(out));
});

Deno.test("withProgress counts sync and async iterables and ends on break", async () => {
  const sync = capture();
  const seen: number[] = [];
  for (const x of withProgress([1, 2, 3], { writer: sync.writer, label: "s" })) seen.push(x);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.match(sync.text(), /^s: 3\/3 \(100\.0%\)/);

  const early = capture();
  for (const x of withProgress(new Set([1, 2, 3, 4]), { writer: early.writer })) if (x === 2) break;
  assert.match(early.text(), /^1\/4 \(25\.0%\)/);

  async function* numbers() {
    yield 1;
    yield 2;
  }
  const asyncOut = capture();
  let sum = 0;
  for await (const x of withProgress(numbers(), { writer: asyncOut.writer, total: 2 })) sum += x;
  assert.equal(sum, 3);
  assert.match(asyncOut.text(), /^2\/2 \(100\.0%\)/);
});
