/**
 * Test helpers for lib/gradcam (not re-exported by `mod.ts`): the PyTorch reference network of
 * tests/fixtures/gradcam/gradcam.safetensors (see make_gradcam.py there) as a {@link CamModel}, and a
 * hand-built linear model whose CAMs are known analytically.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readSafetensors } from "../io/safetensors.ts";
import { Rng } from "../tensor/rng.ts";
import { assertClose } from "../tensor/test_util.ts";
import type { CamModel, CamResult } from "./cam.ts";

/** The fixture's tensors by name (see make_gradcam.py for the names). */
export type GradcamFixture = Map<string, { shape: number[]; data: Float32Array | Int32Array }>;

/** Read tests/fixtures/gradcam/gradcam.safetensors. */
export async function loadGradcamFixture(): Promise<GradcamFixture> {
  const url = new URL("../../tests/fixtures/gradcam/gradcam.safetensors", import.meta.url);
  const { tensors } = await readSafetensors(url.pathname);
  return tensors as GradcamFixture;
}

/** A fixture tensor's values as a JS array of numbers. */
export function values(fixture: GradcamFixture, name: string): number[] {
  const t = fixture.get(name);
  if (!t) throw new Error(`gradcam fixture: no tensor "${name}"`);
  return Array.from(t.data);
}

/** A float32 fixture tensor as a tf tensor; the caller disposes it. */
export function fixtureTensor(fixture: GradcamFixture, name: string): tf.Tensor {
  const t = fixture.get(name);
  if (!t) throw new Error(`gradcam fixture: no tensor "${name}"`);
  return tf.tensor(t.data, t.shape, "float32");
}

/** The two splits of the fixture network: at conv2's output ("last") or at conv1's ("mid"). */
export type FixtureSplit = "last" | "mid";

/**
 * The fixture network (conv1 3x3/2 → ReLU → conv2 3x3 → ReLU → mean pool → fc) split as `split`; its weights
 * are tensors that `dispose` frees.
 */
export function fixtureModel(fixture: GradcamFixture, split: FixtureSplit): CamModel & { dispose(): void } {
  const p = Object.fromEntries(
    ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]
      .map((name) => [name, fixtureTensor(fixture, name)]),
  );
  const conv1 = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      // PyTorch's padding=1 with stride 2 pads both sides; tfjs's "same" would pad only the bottom/right.
      const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      return tf.relu(
        tf.add(tf.conv2d(padded, p["conv1.weight"] as tf.Tensor4D, 2, "valid"), p["conv1.bias"]),
      );
    }) as tf.Tensor4D;
  const conv2 = (a: tf.Tensor4D) =>
    tf.tidy(() =>
      tf.relu(tf.add(tf.conv2d(a, p["conv2.weight"] as tf.Tensor4D, 1, "same"), p["conv2.bias"]))
    ) as tf.Tensor4D;
  const fc = (a: tf.Tensor4D) =>
    tf.tidy(() => tf.add(tf.matMul(tf.mean(a, [1, 2]), p["fc.weight"]), p["fc.bias"])) as tf.Tensor2D;
  const dispose = () => tf.dispose(Object.values(p));
  return split === "last"
    ? { featureMap: (x) => tf.tidy(() => conv2(conv1(x))), head: fc, dispose }
    : { featureMap: conv1, head: (a) => tf.tidy(() => fc(conv2(a))), dispose };
}

/**
 * A model whose CAMs are known in closed form: the map is the image itself (`[N, H, W, D]`, D = C) and the
 * head is a global mean pool then `fc` `[D, K]` (rows) plus `bias` `[K]`, so ∂logit_k/∂A[n, i, j, d] =
 * fc[d][k] / (H·W) everywhere. Its tensors are freed by `dispose`.
 */
export function linearModel(fc: number[][], bias: number[]): CamModel & { dispose(): void } {
  const w = tf.tensor2d(fc); // [D, K]
  const b = tf.tensor1d(bias); // [K]
  return {
    featureMap: (images) => tf.clone(images),
    head: (map) => tf.tidy(() => tf.add(tf.matMul(tf.mean(map, [1, 2]), w), b)) as tf.Tensor2D,
    dispose: () => tf.dispose([w, b]),
  };
}

/** `count` seeded uniform values in [-1, 1), for hand-built inputs. */
export function uniformValues(count: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => 2 * rng.uniform() - 1);
}

/** Free every tensor of a CAM result. */
export function disposeResult(result: CamResult): void {
  tf.dispose([result.cams, result.logits, result.raw, result.weights].filter((t) => t !== undefined));
}

/**
 * Assert that a result of `raw: true` equals the fixture's `{prefix}.weights`, `.raw` and `.cam` within
 * `tol`; returns the largest error.
 */
export function assertMatchesFixture(
  result: CamResult,
  fixture: GradcamFixture,
  prefix: string,
  tol = 1e-4,
): number {
  return Math.max(
    assertClose(result.weights!.dataSync(), values(fixture, `${prefix}.weights`), tol, `${prefix}.weights`),
    assertClose(result.raw!.dataSync(), values(fixture, `${prefix}.raw`), tol, `${prefix}.raw`),
    assertClose(result.cams.dataSync(), values(fixture, `${prefix}.cam`), tol, `${prefix}.cam`),
  );
}
