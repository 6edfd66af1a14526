import { strict as assert } from "node:assert";
import { isTuple, PickleGlobal, unpickle } from "./pickle.ts";

/** Bytes of a string of code points 0–255 (how pickles are spelled in Python's repr). */
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const base64 = (s: string) => latin1(atob(s));
const noGlobals = () => undefined;

// pickle.dumps(v, protocol=5) for
// v = {'ints': [0, 255, 65535, -1, 2**31-1, -2**31, 2**40, -2**63, 2**70], 'floats': (1.5, -0.0, 1e300),
//      'misc': [None, True, False, 'é✓', b'xy', bytearray(b'z')], 'sets': ({1, 2}, frozenset({'a'})),
//      'shared': (lst, lst)} with lst = [1, 2]
const PROTOCOL5 =
  "gAWVvAAAAAAAAAB9lCiMBGludHOUXZQoSwBL/03//0r/////Sv///39KAAAAgIoGAAAAAAABiggAAAAAAAAAgIoJAAAAAAAAAABA" +
  "ZYwGZmxvYXRzlEc/+AAAAAAAAEeAAAAAAAAAAEd+N+Q8iAB1nIeUjARtaXNjlF2UKE6IiYwFw6ninJOUQwJ4eZSWAQAAAAAAAAB6lGWM" +
  "BHNldHOUj5QoSwFLApAojAFhlJGUhpSMBnNoYXJlZJRdlChLAUsCZWgQhpR1Lg==";
// The same value with protocol=4: bytearray is pickled as a call of builtins.bytearray (STACK_GLOBAL).
const PROTOCOL4 =
  "gASV0gAAAAAAAAB9lCiMBGludHOUXZQoSwBL/03//0r/////Sv///39KAAAAgIoGAAAAAAABiggAAAAAAAAAgIoJAAAAAAAAAABA" +
  "ZYwGZmxvYXRzlEc/+AAAAAAAAEeAAAAAAAAAAEd+N+Q8iAB1nIeUjARtaXNjlF2UKE6IiYwFw6ninJOUQwJ4eZSMCGJ1aWx0aW5zlIwJ" +
  "Ynl0ZWFycmF5lJOUQwF6lIWUUpRljARzZXRzlI+UKEsBSwKQKIwBYZSRlIaUjAZzaGFyZWSUXZQoSwFLAmVoFYaUdS4=";

Deno.test("unpickle decodes the protocol 5 opcodes of plain Python values", () => {
  const { value, end } = unpickle(base64(PROTOCOL5), { findGlobal: noGlobals });
  assert.equal(end, base64(PROTOCOL5).length);
  assert.ok(value instanceof Map);
  assert.deepEqual(value.get("ints"), [
    0,
    255,
    65535,
    -1,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 40,
    -(2n ** 63n),
    2n ** 70n,
  ]);
  const floats = value.get("floats");
  assert.ok(isTuple(floats));
  assert.deepEqual([...floats], [1.5, -0, 1e300]);
  assert.ok(Object.is(floats[1], -0));
  assert.deepEqual(value.get("misc"), [null, true, false, "é✓", latin1("xy"), latin1("z")]);
  const [set, frozen] = value.get("sets");
  assert.deepEqual([...set], [1, 2]);
  assert.deepEqual([...frozen], ["a"]);
  const [a, b] = value.get("shared");
  assert.equal(a, b, "memoized objects are shared, as in Python");
  assert.ok(!isTuple(a), "lists are not tuples");
});

Deno.test("unpickle grants builtins only through findGlobal (STACK_GLOBAL of protocol 4)", () => {
  assert.throws(
    () => unpickle(base64(PROTOCOL4), { source: "p4.pkl", findGlobal: noGlobals }),
    { message: "forbidden global 'builtins.bytearray' in p4.pkl" },
  );
  const bytearray: PickleGlobal = { qualifiedName: "builtins.bytearray", call: (args) => args[0] };
  const { value } = unpickle(base64(PROTOCOL4), {
    findGlobal: (m, n) => (m === "builtins" && n === "bytearray" ? bytearray : undefined),
  });
  assert.deepEqual((value as Map<string, unknown[]>).get("misc")![5], latin1("z"));
});

Deno.test("unpickle refuses os.system before anything could run", () => {
  // GLOBAL 'os system', the argument 'touch /tmp/x', TUPLE1, REDUCE, STOP
  const evil = latin1("\x80\x02cos\nsystem\nX\x0c\x00\x00\x00touch /tmp/x\x85R.");
  const asked: string[] = [];
  assert.throws(
    () =>
      unpickle(evil, {
        source: "evil.pkl",
        findGlobal: (m, n) => void asked.push(`${m}.${n}`),
        forbiddenHint: "state dicts only",
      }),
    { message: "forbidden global 'os.system' in evil.pkl (state dicts only)" },
  );
  assert.deepEqual(asked, ["os.system"]);
});

Deno.test("unpickle calls only allow-listed callables, and BUILD only buildable objects", () => {
  const notCallable: PickleGlobal = { qualifiedName: "torch.FloatStorage" };
  assert.throws(
    () =>
      unpickle(latin1("\x80\x02ctorch\nFloatStorage\n)R."), {
        source: "f.pkl",
        findGlobal: () => notCallable,
      }),
    /^Error: f\.pkl: pickle REDUCE at byte 23: torch\.FloatStorage is not callable$/,
  );
  const pair: PickleGlobal = { qualifiedName: "m.pair", call: (args) => [...args] };
  const { value } = unpickle(latin1("\x80\x02cm\npair\nK\x01K\x02\x86R."), { findGlobal: () => pair });
  assert.deepEqual(value, [1, 2]);
  // BUILD on a list is not something a state dict does.
  assert.throws(
    () => unpickle(latin1("\x80\x02]N\x85b."), { findGlobal: noGlobals }),
    /cannot set the state/,
  );
});

Deno.test("unpickle reports malformed pickles with the file, opcode and position", () => {
  const opts = { source: "bad.pkl", findGlobal: noGlobals };
  assert.throws(() => unpickle(latin1("\x80\x02X\x10\x00\x00\x00abc"), opts), {
    message: "bad.pkl: pickle BINUNICODE at byte 2: truncated: needs 16 more bytes, 3 left",
  });
  assert.throws(() => unpickle(latin1("\x80\x02K\x01"), opts), {
    message: "bad.pkl: pickle STOP at byte 4: truncated: the pickle ends before its STOP opcode",
  });
  assert.throws(
    () => unpickle(latin1("\x80\x02\xff."), opts),
    /bad\.pkl: pickle 0xff at byte 2: unknown opcode/,
  );
  assert.throws(
    () => unpickle(latin1("\x80\x02h\x07."), opts),
    /BINGET at byte 2: memo entry 7 is not defined/,
  );
  assert.throws(() => unpickle(latin1("\x80\x02."), opts), /STOP at byte 2: stack underflow/);
  assert.throws(() => unpickle(latin1("\x80\x02\x82\x01."), opts), /EXT1 at byte 2: unsupported opcode/);
  assert.throws(() => unpickle(latin1("\x80\x09."), opts), /unsupported pickle protocol 9/);
});

Deno.test("unpickle starts at an offset and reports where the pickle ended", () => {
  const two = latin1("\x80\x02K\x05.\x80\x02K\x06.");
  const first = unpickle(two, { findGlobal: noGlobals });
  assert.deepEqual(first, { value: 5, end: 5 });
  assert.deepEqual(unpickle(two, { offset: first.end, findGlobal: noGlobals }), { value: 6, end: 10 });
});
