import { strict as assert } from "node:assert";
import { join } from "node:path";
import { parseLabels } from "./labels.ts";
import { type LabelState, startLabelServer } from "./label_server.ts";

/** A fake "PNG" per seed: the server passes the bytes through, and the test counts the renders. */
function fakeRender(calls: number[]) {
  return (seed: number) => {
    calls.push(seed);
    return Promise.resolve(new Uint8Array([0x89, seed]));
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "label_server_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function post(url: string, body: unknown, contentType = "application/json"): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": contentType }, body: JSON.stringify(body) });
}

async function ok(res: Response | Promise<Response>): Promise<LabelState> {
  const r = await res;
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

async function refused(res: Promise<Response>, status: number, error: RegExp): Promise<void> {
  const r = await res;
  assert.equal(r.status, status);
  const body = await r.json();
  assert.match(body.error, error);
}

Deno.test("label server: answers are saved before each reply; undo; done resolves with every label", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const calls: number[] = [];
    const changes: string[] = [];
    const server = await startLabelServer({
      seeds: [10, 11, 12],
      render: fakeRender(calls),
      out,
      onChange: (s) => changes.push(s.progress),
    });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(server.url);
      assert.match(page.headers.get("content-type")!, /text\/html/);
      assert.match(await page.text(), /image-rendering: pixelated/);

      let s = await ok(fetch(`${server.url}api/state`));
      assert.deepEqual(s, {
        total: 3,
        counts: { normal: 0, artifact: 0, skip: 0 },
        progress: "0 / 3 labelled (0 normal, 0 artifact, 0 skipped)",
        current: 10,
        next: 11,
        last: null,
        done: false,
        out,
      });
      const img = await fetch(`${server.url}api/image/11.png`);
      assert.equal(img.headers.get("content-type"), "image/png");
      assert.deepEqual(new Uint8Array(await img.arrayBuffer()), new Uint8Array([0x89, 11]));
      await (await fetch(`${server.url}api/image/11.png`)).arrayBuffer();
      assert.deepEqual(calls, [11], "a recent render is reused");

      s = await ok(post(`${server.url}api/label`, { seed: 10, label: "artifact" }));
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n10,artifact,manual\n");
      assert.deepEqual([s.current, s.next, s.last], [11, 12, { seed: 10, label: "artifact" }]);

      s = await ok(post(`${server.url}api/label`, { seed: 11, label: "skip" }));
      assert.equal(s.progress, "2 / 3 labelled (0 normal, 1 artifact, 1 skipped)");
      s = await ok(post(`${server.url}api/undo`, {}));
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n10,artifact,manual\n");
      assert.deepEqual([s.current, s.next, s.last], [11, 12, { seed: 10, label: "artifact" }]);
      s = await ok(post(`${server.url}api/undo`, {}));
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n");
      assert.deepEqual(
        [s.current, s.next, s.last],
        [10, 11, null],
        "undone seeds are asked again, last first",
      );

      await ok(post(`${server.url}api/label`, { seed: 10, label: "normal" }));
      await ok(post(`${server.url}api/label`, { seed: 11, label: "artifact" }));
      s = await ok(post(`${server.url}api/label`, { seed: 12, label: "skip" }));
      assert.deepEqual([s.done, s.current, s.next], [true, null, null]);
      const labels = await server.done;
      assert.deepEqual([...labels].map(([seed, e]) => `${seed}:${e.label}`), [
        "10:normal",
        "11:artifact",
        "12:skip",
      ]);
      assert.deepEqual(parseLabels(await Deno.readTextFile(out)), labels);
      assert.equal(changes.length, 7);
      assert.equal(changes.at(-1), "3 / 3 labelled (1 normal, 1 artifact, 1 skipped)");
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: bad requests get 400 (404, 405) with a message and change nothing", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const server = await startLabelServer({ seeds: [0, 1], render: fakeRender([]), out });
    try {
      const api = `${server.url}api/`;
      await refused(post(`${api}label`, { seed: 5, label: "normal" }), 400, /seed 5 is not on the list/);
      await refused(post(`${api}label`, { seed: "0", label: "normal" }), 400, /seed "0" is not on the list/);
      await refused(post(`${api}label`, { seed: 0, label: "artfact" }), 400, /label "artfact" is not one of/);
      await refused(post(`${api}label`, null), 400, /seed undefined is not on the list/);
      await refused(
        post(`${api}label`, { seed: 0, label: "normal" }, "text/plain"),
        400,
        /application\/json/,
      );
      const broken = fetch(`${api}label`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      });
      await refused(broken, 400, /not valid JSON/);
      await refused(post(`${api}undo`, {}), 400, /nothing to undo/);
      await refused(fetch(`${api}label`), 405, /takes POST/);
      await refused(fetch(`${api}image/7.png`), 404, /seed 7 is not on the list/);
      await refused(fetch(`${api}nope`), 404, /no such page/);
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);

      await ok(post(`${api}label`, { seed: 0, label: "normal" }));
      await refused(
        post(`${api}label`, { seed: 0, label: "skip" }),
        400,
        /already labelled normal; undo it first/,
      );
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n0,normal,manual\n");
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: a render failure is a 500 with its message, and is retried next time", async () => {
  await withDir(async (dir) => {
    let fail = true;
    const render = (seed: number) =>
      fail ? Promise.reject(new Error("no weights")) : Promise.resolve(new Uint8Array([seed]));
    const server = await startLabelServer({ seeds: [3], render, out: join(dir, "l.csv") });
    try {
      await refused(fetch(`${server.url}api/image/3.png`), 500, /no weights/);
      fail = false;
      assert.deepEqual(
        new Uint8Array(await (await fetch(`${server.url}api/image/3.png`)).arrayBuffer()),
        new Uint8Array([3]),
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: resumes from an existing file and keeps rows of seeds not on the list", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    await Deno.writeTextFile(out, "seed,label,source\n99,normal,auto:iqr\n1,artifact,manual\n");
    const server = await startLabelServer({ seeds: [0, 1, 2], render: fakeRender([]), out });
    try {
      let s = await ok(fetch(`${server.url}api/state`));
      assert.equal(s.progress, "1 / 3 labelled (0 normal, 1 artifact, 0 skipped)");
      assert.deepEqual([s.current, s.next, s.last], [0, 2, { seed: 1, label: "artifact" }]);
      s = await ok(post(`${server.url}api/undo`, {}));
      assert.deepEqual([s.current, s.next, s.last], [1, 0, null], "undo reaches answers from the file");
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n99,normal,auto:iqr\n");
      await ok(post(`${server.url}api/label`, { seed: 1, label: "normal" }));
      await ok(post(`${server.url}api/label`, { seed: 0, label: "normal" }));
      await ok(post(`${server.url}api/label`, { seed: 2, label: "skip" }));
      const labels = await server.done;
      assert.deepEqual([...labels.keys()], [99, 1, 0, 2]);
    } finally {
      await server.close();
    }
    // A finished file: done resolves at once.
    const again = await startLabelServer({ seeds: [0, 1, 2], render: fakeRender([]), out });
    try {
      assert.equal((await again.done).size, 4);
    } finally {
      await again.close();
    }
  });
});

Deno.test("label server: refuses a broken label file and bad seed lists before listening", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    await Deno.writeTextFile(out, "seed,label\n1,artfact\n");
    const render = fakeRender([]);
    await assert.rejects(
      startLabelServer({ seeds: [1], render, out }),
      new RegExp(`${out}:2: label "artfact" is not one of normal, artifact, skip`),
    );
    await assert.rejects(startLabelServer({ seeds: [], render, out }), /at least one seed/);
    await assert.rejects(startLabelServer({ seeds: [1, 1], render, out }), /seed 1 is listed twice/);
    await assert.rejects(startLabelServer({ seeds: [-1], render, out }), /non-negative integers, got -1/);
  });
});

Deno.test("label server: concurrent requests render one at a time and all answers reach the file", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    let running = 0, most = 0;
    const render = async (seed: number) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return new Uint8Array([seed]);
    };
    const seeds = [0, 1, 2, 3, 4, 5];
    const server = await startLabelServer({ seeds, render, out });
    try {
      const images = seeds.map((s) => fetch(`${server.url}api/image/${s}.png`).then((r) => r.arrayBuffer()));
      const answers = seeds.map((seed) => ok(post(`${server.url}api/label`, { seed, label: "normal" })));
      await Promise.all([...images, ...answers]);
      assert.equal(most, 1);
      assert.deepEqual([...(await server.done).keys()].sort(), seeds);
      assert.equal(parseLabels(await Deno.readTextFile(out)).size, seeds.length);
    } finally {
      await server.close();
    }
  });
});

/** A raw HTTP/1.1 request (any Host, Origin or path, unlike fetch) and the status and body of its answer. */
async function raw(port: number, head: string[], body = ""): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = [
      ...head,
      "connection: close",
      ...(body ? [`content-length: ${body.length}`] : []),
      "",
      body,
    ];
    await conn.write(new TextEncoder().encode(request.join("\r\n")));
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    return { status: Number(answer.split(" ")[1]), body: answer.slice(answer.indexOf("\r\n\r\n") + 4) };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the answer's end
    }
  }
}

Deno.test("label server: Host and Origin must be this machine's (DNS rebinding, CSRF): 403", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const server = await startLabelServer({ seeds: [0, 1], render: fakeRender([]), out });
    try {
      const port = Number(new URL(server.url).port);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
        assert.equal((await raw(port, ["GET /api/state HTTP/1.1", `host: ${host}`])).status, 200, host);
      }
      for (
        const host of [`evil.example:${port}`, "127.0.0.1", `127.0.0.1:${port + 1}`, `localhost.evil:${port}`]
      ) {
        const r = await raw(port, ["GET /api/state HTTP/1.1", `host: ${host}`]);
        assert.equal(r.status, 403, host);
        assert.match(JSON.parse(r.body).error, /this machine's own name/);
      }
      // A rebound page posting an answer, and another site's page posting with its Origin.
      const body = JSON.stringify({ seed: 0, label: "artifact" });
      const json = "content-type: application/json";
      const rebound = await raw(port, ["POST /api/label HTTP/1.1", `host: evil.example:${port}`, json], body);
      assert.equal(rebound.status, 403);
      for (
        const origin of [
          "http://evil.example",
          "null",
          `https://127.0.0.1:${port}`,
          `http://127.0.0.1:${port + 1}`,
        ]
      ) {
        const r = await raw(
          port,
          ["POST /api/label HTTP/1.1", `host: 127.0.0.1:${port}`, `origin: ${origin}`, json],
          body,
        );
        assert.equal(r.status, 403, origin);
        assert.match(JSON.parse(r.body).error, /cross-origin requests are refused/);
      }
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound, "no refused request wrote the file");
      // The page's own requests carry its own origin.
      const own = await raw(
        port,
        ["POST /api/label HTTP/1.1", `host: 127.0.0.1:${port}`, `origin: http://127.0.0.1:${port}`, json],
        body,
      );
      assert.equal(own.status, 200, own.body);
      assert.equal(await Deno.readTextFile(out), "seed,label,source\n0,artifact,manual\n");
      // Paths stay inside the API.
      for (
        const path of [
          "/api/image/../../../etc/passwd",
          "/api/image/%2e%2e%2f1.png",
          "/api/image/1.png/..",
          "/../labels.csv",
        ]
      ) {
        const r = await raw(port, [`GET ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`]);
        assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      }
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: bodies over 64 KiB get 413 without being read whole", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const server = await startLabelServer({ seeds: [0, 1], render: fakeRender([]), out });
    try {
      // A 1 MiB body with its length declared (512 MiB used to be read, then called invalid JSON).
      const big = JSON.stringify({ seed: 0, label: "normal", pad: "x".repeat(2 ** 20) });
      await refused(post(`${server.url}api/label`, JSON.parse(big)), 413, /larger than 65536 bytes/);
      // The same without a declared length (chunked), from a stream of up to 1 GiB: refused once 64 KiB have
      // arrived, long before the stream ends.
      const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
      const chunks = 65536;
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const chunked = fetch(`${server.url}api/label`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      });
      await refused(chunked, 413, /larger than 65536 bytes/);
      assert.ok(sent < chunks, `the client had to send all ${sent} chunks`);
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
      // Small bodies are fine.
      await ok(post(`${server.url}api/label`, { seed: 0, label: "normal", note: "x".repeat(1000) }));
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: stale temporary files of the label file are removed at start", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const stale = join(dir, ".labels.csv.0123abcd.tmp"); // left by a write killed midway
    const fresh = join(dir, ".labels.csv.89abcdef.tmp"); // perhaps another writer's, being written now
    const other = join(dir, ".other.csv.0123abcd.tmp"); // not the label file's
    const mine = join(dir, "labels.csv.tmp"); // not a name writeFileAtomic uses
    for (const path of [stale, fresh, other, mine]) await Deno.writeTextFile(path, "seed,label\n1,no");
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const path of [stale, other, mine]) await Deno.utime(path, hourAgo, hourAgo);
    const server = await startLabelServer({ seeds: [0], render: fakeRender([]), out });
    try {
      const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(left, [".labels.csv.89abcdef.tmp", ".other.csv.0123abcd.tmp", "labels.csv.tmp"]);
    } finally {
      await server.close();
    }
  });
});

Deno.test("label server: kill -9 during concurrent answers loses no acknowledged answer", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "labels.csv");
    const seeds = Array.from({ length: 40 }, (_, i) => i);
    const module = new URL("./label_server.ts", import.meta.url).href;
    const code = `
      const { startLabelServer } = await import(${JSON.stringify(module)});
      const server = await startLabelServer({
        seeds: ${JSON.stringify(seeds)}, render: () => Promise.resolve(new Uint8Array([1])), out: ${
      JSON.stringify(out)
    },
      });
      console.log("open " + server.url);`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    let printed = "";
    while (!printed.includes("\n")) printed += new TextDecoder().decode((await reader.read()).value);
    const url = printed.match(/open (\S+)/)![1];
    const acknowledged: number[] = [];
    const answers = seeds.map(async (seed) => {
      try {
        const r = await post(`${url}api/label`, { seed, label: "artifact" });
        await r.body?.cancel();
        if (r.status === 200) acknowledged.push(seed);
      } catch {
        // the server died before answering
      }
    });
    while (acknowledged.length < 10) await new Promise((r) => setTimeout(r, 1));
    child.kill("SIGKILL");
    await Promise.all(answers);
    await child.status;
    await reader.cancel();
    // The file is whole and holds every acknowledged answer; a restart resumes from it.
    const saved = parseLabels(await Deno.readTextFile(out));
    for (const seed of acknowledged) assert.equal(saved.get(seed)?.label, "artifact", `seed ${seed}`);
    const again = await startLabelServer({ seeds, render: fakeRender([]), out });
    try {
      const s = await ok(fetch(`${again.url}api/state`));
      assert.equal(s.counts.artifact, saved.size);
    } finally {
      await again.close();
    }
  });
});
