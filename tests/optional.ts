/**
 * Tests that need something outside the project (Jupyter, Chromium, a Debian data set, Debian's torch).
 *
 * Every such test asks a probe here ({@link chromium}, {@link fashionMnist}, {@link jupyter}, {@link debianTorch};
 * by key in {@link REQUIREMENTS}) and registers through {@link optionalTest}, or, for one check inside a larger
 * test, {@link optionalCheck}. When the requirement is missing the test is skipped with a line that says what is
 * missing and how to install it; `tests/run.ts` repeats those lines at the end. `@example` blocks that need one
 * say `// requires: <key>` and are gated by `tests/run.ts` with the same probes.
 *
 * Environment:
 * - `GANATOMY_REQUIRE_ALL=1` (set by `.ci/run`): a missing requirement fails the test instead, so CI can never
 *   pass by skipping.
 * - `GANATOMY_PRETEND_MISSING=1`: every probe reports "missing", whatever is installed, so that the suite runs
 *   as on a fresh machine (`.ci/run` checks that it passes there, skipping). Importing this module then also
 *   points `GANATOMY_CHROMIUM` at a path that does not exist, so that the project's own code (which renders PNG
 *   figures only when `hasChromium()`), here and in the processes the tests start, finds no Chromium either.
 *
 * @module
 */
import { hasChromium } from "../lib/viz/plotly_png.ts";
import { FASHION_DIR } from "../lib/data/fashion.ts";

/** Something a test needs from the machine. */
export interface Requirement {
  /** What is needed, e.g. "Debian's chromium". */
  what: string;
  /** Whether it is there (always false under `GANATOMY_PRETEND_MISSING=1`). */
  available: boolean;
  /** How a user installs it, e.g. "apt-get install chromium". */
  install: string;
}

/** The marker `tests/run.ts` looks for in the test output: a whole test was skipped. */
export const SKIP_MARKER = "SKIPPED (missing requirement):";

/** The marker of one check left out of a test that ran ({@link optionalCheck}). */
export const PART_SKIP_MARKER = "CHECK LEFT OUT (missing requirement):";

/** The Chromium path that `GANATOMY_PRETEND_MISSING=1` sets (it does not exist). */
export const PRETEND_CHROMIUM = "/nonexistent/ganatomy-pretend-missing/chromium";

/** True when every optional requirement must be present (CI). */
export function requireAll(): boolean {
  return Deno.env.get("GANATOMY_REQUIRE_ALL") === "1";
}

/** True when every probe must report "missing" (a fresh machine, simulated). */
export function pretendMissing(): boolean {
  return Deno.env.get("GANATOMY_PRETEND_MISSING") === "1";
}

if (pretendMissing()) Deno.env.set("GANATOMY_CHROMIUM", PRETEND_CHROMIUM);

/** Whether an executable is on the PATH (or is an existing absolute path). */
export function hasExecutable(name: string): boolean {
  if (name.startsWith("/")) {
    try {
      return Deno.statSync(name).isFile;
    } catch {
      return false;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (dir && Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function pretence(): string {
  return pretendMissing() ? " (pretended missing: GANATOMY_PRETEND_MISSING=1)" : "";
}

/** Why `req` counts as missing, for a skip line: what, any pretence, and the install line. */
export function missingReason(req: Requirement): string {
  return `needs ${req.what}${pretence()}; install it: ${req.install}`;
}

/** The error when `req` is missing under `GANATOMY_REQUIRE_ALL=1`. */
export function missingError(req: Requirement): string {
  return `${req.what} is missing${pretence()} and GANATOMY_REQUIRE_ALL=1; install it: ${req.install}`;
}

function isAvailable(req: Requirement): boolean {
  return req.available && !pretendMissing();
}

/** Register a test that runs only when `req` is available (or fails under `GANATOMY_REQUIRE_ALL=1`). */
export function optionalTest(name: string, req: Requirement, fn: () => void | Promise<void>): void {
  if (isAvailable(req)) {
    Deno.test(name, fn);
  } else if (requireAll()) {
    Deno.test(name, () => {
      throw new Error(missingError(req));
    });
  } else {
    console.warn(`${SKIP_MARKER} ${name} — ${missingReason(req)}`);
    Deno.test({ name, ignore: true, fn });
  }
}

/**
 * Inside a test that runs anyway: whether to make the check `part` that needs `req`. True when `req` is available;
 * otherwise prints a line that `tests/run.ts` lists (the check is left out) and returns false, or, under
 * `GANATOMY_REQUIRE_ALL=1`, throws so that the test fails.
 */
export function optionalCheck(test: string, part: string, req: Requirement): boolean {
  if (isAvailable(req)) return true;
  if (requireAll()) {
    throw new Error(`${test}: ${part}: ${missingError(req)}`);
  }
  console.warn(`${PART_SKIP_MARKER} ${test}: ${part} — ${missingReason(req)}`);
  return false;
}

function probe(what: string, install: string, available: () => boolean): Requirement {
  return { what, install, available: !pretendMissing() && available() };
}

/** Debian's Chromium (`/usr/bin/chromium`, or `GANATOMY_CHROMIUM`), for PNG figures and the labelling page. */
export function chromium(): Requirement {
  return probe("Debian's chromium", "apt-get install chromium", () => hasChromium());
}

/** Debian's Fashion-MNIST (`/usr/share/datasets/fashion-mnist`). */
export function fashionMnist(): Requirement {
  return probe("Debian's dataset-fashion-mnist", "apt-get install dataset-fashion-mnist", () => {
    try {
      return ["train", "t10k"].every((split) =>
        Deno.statSync(`${FASHION_DIR}/${split}-images-idx3-ubyte.gz`).isFile &&
        Deno.statSync(`${FASHION_DIR}/${split}-labels-idx1-ubyte.gz`).isFile
      );
    } catch {
      return false;
    }
  });
}

/** Jupyter's nbconvert, which runs the notebooks through the Deno kernel. */
export function jupyter(): Requirement {
  return probe(
    "Jupyter's nbconvert (runs the notebooks through the Deno kernel)",
    "apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel",
    () => hasExecutable("jupyter") && hasExecutable("jupyter-nbconvert"),
  );
}

/** Debian's python3 with torch (`/usr/bin/python3`), which the fixture scripts need to make reference weights. */
export function debianTorch(): Requirement {
  return probe("Debian's python3 with torch", "apt-get install python3-torch", () => {
    try {
      return new Deno.Command("/usr/bin/python3", {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      return false; // no python3
    }
  });
}

/** The probes by the key that an `@example` block names in `// requires: <key>` (see `tests/run.ts`). */
export const REQUIREMENTS: Readonly<Record<string, () => Requirement>> = {
  chromium,
  "fashion-mnist": fashionMnist,
  jupyter,
  torch: debianTorch,
};
