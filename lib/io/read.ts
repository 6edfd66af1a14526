/**
 * Reading a user's file with an error a user can act on: `g.pth: no such file` instead of the operating
 * system's `No such file or directory (os error 2): readfile 'g.pth'`.
 *
 * @example
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { readFileNamed } from "./read.ts";
 * await assert.rejects(() => readFileNamed("nonexistent.pth"), /^NotFound: nonexistent\.pth: no such file$/);
 * ```
 * @module
 */

/**
 * The error of a failed file operation on `path`, its message one line naming it. The error keeps its class
 * (`Deno.errors.NotFound` stays one), so callers that treat a missing file as "not yet" still can.
 */
export function fileError(path: string, e: unknown): Error {
  if (e instanceof Deno.errors.NotFound) return new Deno.errors.NotFound(`${path}: no such file`);
  if (e instanceof Deno.errors.PermissionDenied) {
    return new Deno.errors.PermissionDenied(`${path}: permission denied`);
  }
  if (e instanceof Deno.errors.IsADirectory) {
    return new Deno.errors.IsADirectory(`${path}: is a folder, not a file`);
  }
  const message = (e as Error)?.message ?? String(e);
  return new Error(`${path}: ${message.replace(/\s*\(os error \d+\).*$/, "")}`);
}

/** `Deno.readFile` whose errors name the file in one line (see {@link fileError}). */
export async function readFileNamed(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

/** `Deno.readTextFile` whose errors name the file in one line. */
export async function readTextFileNamed(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
}
