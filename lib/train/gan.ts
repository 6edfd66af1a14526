/**
 * Adversarial training of a stage-described generator against {@link Discriminator}.
 *
 * Loss: the non-saturating logistic loss with a lazy R1 penalty on real images (Mescheder et al. 2018; as in
 * StyleGAN2): every `r1Every` steps the discriminator's loss gains `(gamma / 2) · r1Every · E‖∇ₓD(x)‖²`. R1 needs
 * second-order gradients, which work on every backend here once {@link registerComparisonGradients} has run.
 * An exponential moving average of the generator's weights (`emaBeta`, ramped up over the first steps) is kept for
 * sampling and export.
 *
 * @example
 * ```ts ignore
 * const gan = createGanTrainer(generatorDescription, discriminator, { batch: 32 });
 * const metrics = gan.step(realImages, z, 0); // { d_loss, g_loss, r1? }
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Params, runStages } from "../engine/tfjs.ts";
import { discriminate, type Discriminator } from "../models/discriminator.ts";
import type { GeneratorDescription, Weight } from "../models/stages.ts";
import { variableFrom } from "../tensor/variable.ts";
import { registerComparisonGradients } from "./higher_order.ts";

/** Hyper-parameters of {@link createGanTrainer}; defaults follow StyleGAN2's small-scale settings. */
export interface GanOptions {
  /** Adam learning rate of both networks; default 0.002. */
  learningRate?: number;
  /** Adam betas; default [0, 0.99]. */
  betas?: [number, number];
  /** R1 weight gamma; default 1. */
  r1Gamma?: number;
  /** Apply R1 every this many steps (lazy regularisation); default 4. */
  r1Every?: number;
  /**
   * Decay of the generator's weight average per step; default 0.999. Early on the decay ramps up as
   * `min(emaBeta, (1 + i) / (10 + i))`, so the average does not stay stuck near the random initial weights.
   */
  emaBeta?: number;
}

/** A GAN under training: variables, optimisers and one step of both networks. */
export interface GanTrainer {
  generator: GeneratorDescription;
  discriminator: Discriminator;
  /** The generator's trainable variables (named `G/<weight name>`). */
  gParams: Record<string, tf.Variable>;
  /** Moving averages of the generator's variables (named `G_ema/<weight name>`). */
  gEma: Record<string, tf.Variable>;
  optimizers: { g: tf.Optimizer; d: tf.Optimizer };
  /** One D update then one G update; `real` [N,R,R,C] in [-1,1], `z` two latent batches [2N, zDim]. */
  step(real: tf.Tensor4D, z: tf.Tensor2D, i: number): Record<string, number>;
  /** Every variable a checkpoint must hold. */
  allParams(): Record<string, tf.Variable>;
  /** The averaged generator's weights, for export. */
  emaWeights(): Promise<Record<string, Weight>>;
  /** Free every variable (generator, average, discriminator, optimiser slots). */
  dispose(): void;
}

/** Create variables and optimisers for training `generator` (its weights are the initial values). */
export function createGanTrainer(
  generator: GeneratorDescription,
  discriminator: Discriminator,
  options: GanOptions = {},
): GanTrainer {
  registerComparisonGradients();
  const lr = options.learningRate ?? 0.002;
  const [b1, b2] = options.betas ?? [0, 0.99];
  const gamma = options.r1Gamma ?? 1;
  const r1Every = options.r1Every ?? 4;
  const emaBeta = options.emaBeta ?? 0.999;
  const gParams: Record<string, tf.Variable> = {};
  const gEma: Record<string, tf.Variable> = {};
  for (const [name, w] of Object.entries(generator.weights)) {
    gParams[name] = variableFrom(w.data, w.shape, `G/${name}`);
    gEma[name] = variableFrom(w.data, w.shape, `G_ema/${name}`, false);
  }
  const optimizers = { g: tf.train.adam(lr, b1, b2, 1e-8), d: tf.train.adam(lr, b1, b2, 1e-8) };
  const dVars = Object.values(discriminator.params);
  const gVars = Object.values(gParams);
  const generate = (z: tf.Tensor2D) => runStages(generator, gParams as Params, z).output;

  function step(real: tf.Tensor4D, z: tf.Tensor2D, i: number): Record<string, number> {
    const n = real.shape[0];
    if (z.shape[0] !== 2 * n) {
      throw new Error(`gan step: z must be [${2 * n}, zDim] (two batches), got [${z.shape}]`);
    }
    const metrics: Record<string, number> = {};
    tf.tidy(() => {
      const [zD, zG] = tf.split(z, 2);
      const fake = tf.keep(tf.tidy(() => generate(zD as tf.Tensor2D)));
      const withR1 = gamma > 0 && i % r1Every === 0;
      const d = optimizers.d.minimize(
        () => {
          const lossFake = tf.mean(tf.softplus(discriminate(discriminator, fake)));
          const lossReal = tf.mean(tf.softplus(tf.neg(discriminate(discriminator, real))));
          let loss = tf.add(lossFake, lossReal);
          if (withR1) {
            const gradReal = tf.grad((x: tf.Tensor) => tf.sum(discriminate(discriminator, x)))(real);
            const r1 = tf.mean(tf.sum(tf.square(gradReal), [1, 2, 3]));
            metrics.r1 = r1.dataSync()[0];
            loss = tf.add(loss, tf.mul(r1, (gamma / 2) * r1Every));
          }
          metrics.d_real = lossReal.dataSync()[0];
          metrics.d_fake = lossFake.dataSync()[0];
          return loss as tf.Scalar;
        },
        true,
        dVars,
      );
      metrics.d_loss = d!.dataSync()[0];
      fake.dispose();
      const g = optimizers.g.minimize(
        () =>
          tf.mean(tf.softplus(tf.neg(discriminate(discriminator, generate(zG as tf.Tensor2D))))) as tf.Scalar,
        true,
        gVars,
      );
      metrics.g_loss = g!.dataSync()[0];
      const beta = Math.min(emaBeta, (1 + i) / (10 + i));
      for (const [name, v] of Object.entries(gParams)) {
        gEma[name].assign(tf.add(tf.mul(gEma[name], beta), tf.mul(v, 1 - beta)));
      }
    });
    return metrics;
  }

  return {
    generator,
    discriminator,
    gParams,
    gEma,
    optimizers,
    step,
    allParams: () => {
      const all: Record<string, tf.Variable> = {};
      for (const [k, v] of Object.entries(gParams)) all[`G/${k}`] = v;
      for (const [k, v] of Object.entries(gEma)) all[`G_ema/${k}`] = v;
      for (const [k, v] of Object.entries(discriminator.params)) all[`D/${k}`] = v;
      return all;
    },
    dispose: () => {
      tf.dispose([...gVars, ...Object.values(gEma), ...dVars]);
      optimizers.g.dispose();
      optimizers.d.dispose();
    },
    emaWeights: async () => {
      const out: Record<string, Weight> = {};
      for (const [k, v] of Object.entries(gEma)) {
        out[k] = { shape: v.shape, data: (await v.data()) as Float32Array };
      }
      return out;
    },
  };
}
