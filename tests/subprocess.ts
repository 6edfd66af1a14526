/**
 * Running the project's commands as a user does, from the project's root, for the end-to-end tests.
 *
 * @module
 */
import { resolve } from "node:path";

/** The project's root. */
export const ROOT = resolve(import.meta.dirname!, "..");

/** What a finished command printed. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `deno <args>` (e.g. `["run", "-A", "experiments/correct.ts", …]` or `["task", "--quiet", "demo", …]`) in
 * the project's root with one tfjs thread (`GANATOMY_THREADS=1`, tests run two at a time), and collect its output.
 */
export async function denoCommand(args: string[]): Promise<Finished> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { GANATOMY_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
