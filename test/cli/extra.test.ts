import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

const cli = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000 });

const MODEL = "test/fixtures/t5/tiny-relu-tied/checkpoint";
const SPM = "test/fixtures/tokenizer/unigram-320/spiece.model";

test("gradlab t5 generate prints what the library's beam search decodes", async () => {
  const text = "the king is dead";
  const r = cli(["t5", "generate", "--model", MODEL, "--tokenizer", SPM, "--num-beams", "3", "--max-new-tokens", "12", text]);
  assert.equal(r.status, 0, r.stderr);
  const tok = await gl.t5.T5Tokenizer.fromFile(SPM);
  const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(MODEL);
  const ids = model.generate(gl.tensor([tok.encode(text)], { dtype: "int32" }), { numBeams: 3, maxNewTokens: 12 });
  assert.equal(r.stdout, tok.decode((ids.tolist() as number[][])[0], { skipSpecialTokens: true }) + "\n");
  const missing = cli(["t5", "generate", "--model", "no/such/dir", "hello"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no\/such\/dir/);
});

test("gradlab experiment runs the reduced setting and writes its report; unknown names are refused", () => {
  const out = join(mkdtempSync(join(tmpdir(), "gradlab-exp-")), "vanishing");
  const r = cli(["experiment", "vanishing", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ["metrics.json", "report.md", "report.html"]) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).setting, "reduced");
  const figures = [...readFileSync(join(out, "report.html"), "utf8").matchAll(/<img src="([^"]+\.svg)"/g)].map((m) => m[1]);
  assert.ok(figures.length >= 3, "the report shows its figures");
  for (const f of figures) assert.match(readFileSync(join(out, f), "utf8"), /^<svg/);
  const bad = cli(["experiment", "nope"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown experiment "nope" \(choose from vanishing, /);
});
