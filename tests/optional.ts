/**
 * Tests that need something outside the project (Jupyter, Chromium, a Debian data set).
 *
 * When the requirement is missing the test is skipped with a line that says what is missing and how to
 * install it; `tests/run.ts` repeats those lines at the end. With `GANATOMY_REQUIRE_ALL=1` (set by `.ci/run`)
 * a missing requirement fails the test instead, so CI can never pass by skipping.
 *
 * @module
 */

/** Something a test needs from the machine. */
export interface Requirement {
  /** What is needed, e.g. "Debian's chromium". */
  what: string;
  /** Whether it is there. */
  available: boolean;
  /** How a user installs it, e.g. "apt-get install chromium". */
  install: string;
}

/** The marker `tests/run.ts` looks for in the test output. */
export const SKIP_MARKER = "SKIPPED (missing requirement):";

/** True when every optional requirement must be present (CI). */
export function requireAll(): boolean {
  return Deno.env.get("GANATOMY_REQUIRE_ALL") === "1";
}

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

/** Register a test that runs only when `req` is available (or fails under `GANATOMY_REQUIRE_ALL=1`). */
export function optionalTest(name: string, req: Requirement, fn: () => void | Promise<void>): void {
  if (req.available) {
    Deno.test(name, fn);
  } else if (requireAll()) {
    Deno.test(name, () => {
      throw new Error(`${req.what} is missing (GANATOMY_REQUIRE_ALL=1); install it: ${req.install}`);
    });
  } else {
    console.warn(`${SKIP_MARKER} ${name} — needs ${req.what}; install it: ${req.install}`);
    Deno.test({ name, ignore: true, fn });
  }
}

/** Debian's python3 with torch (`/usr/bin/python3`), which the fixture scripts need to make reference weights. */
export function debianTorch(): Requirement {
  let available = false;
  try {
    available =
      new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
        .outputSync().success;
  } catch {
    // no python3
  }
  return { what: "Debian's python3 with torch", available, install: "apt-get install python3-torch" };
}
