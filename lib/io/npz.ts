/**
 * Read numpy's `.npz` archives: a zip file of `.npy` members, one per array (`np.savez` stores them,
 * `np.savez_compressed` deflates them), named `<key>.npy`. The zip is read by `zip.ts` (each member's CRC-32
 * checked), each member by `npy.ts`. Arrays are keyed as numpy's `NpzFile.files` keys them, without `.npy`;
 * members that are not `.npy` files are ignored.
 *
 * Every error is one line naming the archive (and the member, where there is one); a malformed archive never
 * escapes as a `RangeError`. Members are decoded only when asked for, and a member that declares more than
 * `maxBytes` uncompressed bytes is refused before it is inflated.
 *
 * Statistics files in this format: pytorch-fid's `--save-stats` and clean-fid's `make_custom_stats` both
 * write `mu` `[D]` and `sigma` `[D, D]` (float64); clean-fid's KID statistics hold `feats` `[N, D]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readNpz } from "./npz.ts";
 * const stats = await readNpz("tests/fixtures/npy/stats_compressed.npz");
 * assert.deepEqual([...stats.keys()], ["mu", "sigma"]);
 * assert.deepEqual(stats.get("sigma")!.shape, [6, 6]);
 * ```
 * @module
 */
import { NPY_MAX_BYTES, type NpyArray, parseNpy } from "./npy.ts";
import { openZip, type ZipArchive } from "./zip.ts";

/** Options of {@link openNpz}, {@link parseNpz} and {@link readNpz}. */
export interface ReadNpzOptions {
  /** Name used in error messages when bytes are given; default: the path, or `"<bytes>"`. */
  name?: string;
  /** Largest uncompressed member accepted, in bytes; default {@link NPY_MAX_BYTES}. */
  maxBytes?: number;
}

/** An opened `.npz` archive: its array names, and each array decoded on demand. */
export interface NpzArchive {
  /** The array names (member names without `.npy`), in archive order. */
  names: string[];
  /** Whether the archive holds array `name`. */
  has(name: string): boolean;
  /** Decode array `name`; throws, naming the archive and the member, if it is missing or malformed. */
  read(name: string): NpyArray;
}

/** `e` as one line prefixed with `source`, unless its message already names it. */
function named(source: string, e: unknown, what: string): Error {
  const message = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, " ");
  if (e instanceof Error && !(e instanceof RangeError) && !(e instanceof TypeError)) {
    return new Error(message.startsWith(`${source}:`) ? message : `${source}: ${message}`);
  }
  return new Error(`${source}: ${what} (${message})`);
}

/**
 * Open the `.npz` archive in `bytes` (reads the zip directory; arrays are decoded by {@link NpzArchive.read}).
 * Throws a one-line error naming `options.name` if it is not a readable zip archive.
 */
export function openNpz(bytes: Uint8Array, options: ReadNpzOptions = {}): NpzArchive {
  const source = options.name ?? "<bytes>";
  const maxBytes = options.maxBytes ?? NPY_MAX_BYTES;
  let zip: ZipArchive;
  try {
    zip = openZip(bytes, { source });
  } catch (e) {
    throw named(source, e, "malformed .npz (zip) archive");
  }
  const members = new Map<string, string>();
  for (const member of zip.entries.keys()) {
    if (member.endsWith(".npy")) members.set(member.slice(0, -4), member);
  }
  const names = [...members.keys()];
  return {
    names,
    has: (name) => members.has(name),
    read(name: string): NpyArray {
      const member = members.get(name);
      if (member === undefined) {
        throw new Error(`${source}: no array "${name}" (holds: ${names.join(", ") || "none"})`);
      }
      const entry = zip.entries.get(member)!;
      if (entry.size > maxBytes) {
        throw new Error(
          `${source}: member ${member} of ${entry.size} bytes is larger than the ${maxBytes} bytes accepted`,
        );
      }
      let raw: Uint8Array;
      try {
        raw = zip.read(member);
      } catch (e) {
        throw named(source, e, `member ${member} cannot be read`);
      }
      try {
        return parseNpy(raw, { name: `${source}: ${member}`, maxBytes });
      } catch (e) {
        throw named(`${source}: ${member}`, e, "malformed .npy member");
      }
    },
  };
}

/** Every array of the `.npz` archive in `bytes`, by name (see {@link openNpz}). */
export function parseNpz(bytes: Uint8Array, options: ReadNpzOptions = {}): Map<string, NpyArray> {
  const npz = openNpz(bytes, options);
  return new Map(npz.names.map((name) => [name, npz.read(name)]));
}

/** Open the `.npz` file `path` (see {@link openNpz}); errors name `path`. */
export async function openNpzFile(
  path: string,
  options: Omit<ReadNpzOptions, "name"> = {},
): Promise<NpzArchive> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      e instanceof Deno.errors.NotFound ? `${path}: no such file` : `${path}: ${(e as Error).message}`,
    );
  }
  return openNpz(bytes, { ...options, name: path });
}

/** Every array of the `.npz` file `path`, by name (see {@link openNpz}); errors name `path`. */
export async function readNpz(
  path: string,
  options: Omit<ReadNpzOptions, "name"> = {},
): Promise<Map<string, NpyArray>> {
  const npz = await openNpzFile(path, options);
  return new Map(npz.names.map((name) => [name, npz.read(name)]));
}
