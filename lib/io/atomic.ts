/**
 * Atomic file writes: a reader never sees a half-written file, and a failed write leaves the old file as it
 * was.
 *
 * The data goes to a temporary file in the destination folder (so the final rename stays on one file
 * system), is flushed with fsync, and is then renamed over the destination.
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "./atomic.ts";
 * await writeJsonAtomic("/tmp/ganatomy_example/meta.json", { step: 10 });
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";

const encoder = new TextEncoder();

/** A temporary name beside `path`, hidden and unique, so concurrent writers never share it. */
function tempPathFor(path: string): string {
  const suffix = crypto.randomUUID().slice(0, 8);
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
}

/** Flush the folder entry of a rename to disk; best effort, as not every system can open a folder. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const dir = await Deno.open(folder, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // The rename itself has happened; only its durability across a power cut is less certain.
  }
}

/**
 * Write `data` to `path` atomically, creating missing parent folders.
 *
 * Strings are written as UTF-8. On any failure the temporary file is removed, the destination keeps its
 * previous content (if any), and the error is rethrown.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * await writeFileAtomic("/tmp/ganatomy_example/log.txt", "hello\n");
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const folder = dirname(path);
  await Deno.mkdir(folder, { recursive: true });
  const temp = tempPathFor(path);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    try {
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw new Error(`Could not write ${path}: ${(err as Error).message}`, { cause: err });
  }
  await syncFolder(folder);
}

/**
 * Write `value` as pretty-printed JSON (two-space indent, trailing newline) to `path` atomically.
 *
 * Throws before touching the disk if the value cannot be serialised (a `BigInt`, a cycle).
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "./atomic.ts";
 * await writeJsonAtomic("/tmp/ganatomy_example/config.json", { lr: 2e-4, layers: ["layer4"] });
 * ```
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw new Error(`Could not write ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) {
    throw new Error(`Could not write ${path}: the value is not JSON-serialisable (got ${typeof value})`);
  }
  await writeFileAtomic(path, text + "\n");
}
