/** The JSONC parser and the env-file parser: pure text in, values or one-line errors out. */
import assert from "node:assert/strict";
import { parseJsonc } from "../../src/stack/jsonc.ts";
import { parseEnvFile } from "../../src/stack/env_file.ts";
import { StackError } from "../../src/stack/stack_error.ts";

function syntaxError(text: string): StackError {
  try {
    parseJsonc(text, "/srv/pidkit.jsonc");
  } catch (err) {
    assert.ok(err instanceof StackError, String(err));
    assert.equal(err.reason, "syntax");
    return err;
  }
  assert.fail(`parsed: ${text}`);
}

Deno.test("jsonc: comments and trailing commas, as deno.json", () => {
  const text = `// top
{
  /* block
     comment */ "a": [1, 2.5, -3e2, ], // after
  "b": { "c": "x // not a comment", "d": "\\u00e9\\n", },
  "e": true, "f": false, "g": null,
}
`;
  assert.deepEqual(parseJsonc(text), {
    a: [1, 2.5, -300],
    b: { c: "x // not a comment", d: "\u00e9\n" },
    e: true,
    f: false,
    g: null,
  });
});

Deno.test("jsonc: agrees with JSON.parse on plain JSON", () => {
  const value = { s: 'q"\\/\t', n: [0, -0.5, 1e-3], o: { "": {}, x: [] } };
  const text = JSON.stringify(value, null, 2);
  assert.deepEqual(parseJsonc(text), JSON.parse(text));
});

Deno.test("jsonc: a key __proto__ is data, never the prototype", () => {
  const v = parseJsonc('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("jsonc: syntax errors give line and column", () => {
  const cases: [string, number, number, RegExp][] = [
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /expected ',' or '}'/],
    ["{\n  'a': 1\n}", 2, 3, /expected a quoted key/],
    ['{"a": [1, 2}', 1, 12, /expected ',' or '\]'/],
    ['{"a": "x\n"}', 1, 7, /unterminated string/],
    ['{"a": 1} x', 1, 10, /unexpected text after/],
    ['{"a": 1, "a": 2}', 1, 10, /duplicate key "a"/],
    ["{ /* open", 1, 3, /unterminated \/\* comment/],
    ["", 1, 1, /unexpected end of file/],
    ['{"a": tru}', 1, 7, /unexpected 't'/],
    ['{"a": "\\x"}', 1, 8, /bad escape/],
    ['{"a": 01}', 1, 8, /expected ',' or '}'/],
  ];
  for (const [text, line, column, message] of cases) {
    const err = syntaxError(text);
    assert.equal(err.line, line, `${text}: line`);
    assert.equal(err.column, column, `${text}: column`);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(`/srv/pidkit.jsonc:${line}:${column}: `), err.message);
    assert.ok(!err.message.includes("\n"));
  }
});

Deno.test("jsonc: deep nesting is refused, not a stack overflow", () => {
  const err = syntaxError("[".repeat(100_000));
  assert.match(err.message, /nested deeper than 64/);
});

Deno.test("env file: foreman/compose dialect", () => {
  const text = [
    "# comment",
    "",
    "A=1",
    "export B=two words",
    "C='single $HOME # kept'",
    'D="line\\nnext \\"q\\" \\\\"',
    "E=value # comment",
    "F=a#b",
    "  G = spaced  ",
    "H=",
    'I="x" # after',
    "A=again",
    "J=\r",
  ].join("\n");
  assert.deepEqual(parseEnvFile(text), {
    A: "again",
    B: "two words",
    C: "single $HOME # kept",
    D: 'line\nnext "q" \\',
    E: "value",
    F: "a#b",
    G: "spaced",
    H: "",
    I: "x",
    J: "",
  });
});

Deno.test("env file: a malformed line is an error with its line number", () => {
  const cases: [string, number, RegExp][] = [
    ["A=1\nnot a pair\n", 2, /expected KEY=VALUE/],
    ["1A=x", 1, /bad variable name '1A'/],
    ["A='open", 1, /unterminated/],
    ['A="x" y', 1, /unexpected 'y'/],
    ['\n\nA="\\q"', 3, /unknown escape/],
    ["export =x", 1, /bad variable name ''/],
  ];
  for (const [text, line, message] of cases) {
    try {
      parseEnvFile(text, "/srv/.env", "services.web.envFile");
      assert.fail(text);
    } catch (err) {
      assert.ok(err instanceof StackError, String(err));
      assert.equal(err.reason, "env-file");
      assert.equal(err.line, line, text);
      assert.equal(err.path, "services.web.envFile");
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`/srv/.env:${line}: services.web.envFile: `), err.message);
    }
  }
});
