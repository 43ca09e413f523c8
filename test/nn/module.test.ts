import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const { Module, Parameter, Linear, LayerNorm, ModuleList, Sequential, Dropout, Tanh } = gl.nn;
type Module = gl.nn.Module;

class Block extends Module {
  lin = new Linear(3, 4, { generator: new gl.Generator(1) });
  norm = new LayerNorm(4);
  drop = new Dropout(0.1);
  override forward(x: gl.Tensor): gl.Tensor {
    return this.drop.forward(this.norm.forward(this.lin.forward(x)).tanh());
  }
}

class Net extends Module {
  scale = new Parameter(gl.ones([1]));
  encoder = new ModuleList([new Block(), new Block()]);
  head = new Linear(4, 2, { generator: new gl.Generator(2) });
  constructor() {
    super();
    this.registerBuffer("steps", gl.tensor([0], { dtype: "int32" }));
    this.registerBuffer("runningMean", gl.zeros([2]));
  }
  override forward(x: gl.Tensor): gl.Tensor {
    let h = x;
    for (const b of this.encoder) h = b.forward(h.narrow(-1, 0, 3).mul(this.scale));
    return this.head.forward(h);
  }
}

const PARAM_NAMES = [
  "scale",
  "encoder.0.lin.weight", "encoder.0.lin.bias", "encoder.0.norm.weight", "encoder.0.norm.bias",
  "encoder.1.lin.weight", "encoder.1.lin.bias", "encoder.1.norm.weight", "encoder.1.norm.bias",
  "head.weight", "head.bias",
];

test("namedParameters gives PyTorch's dotted names, own parameters first, depth first", () => {
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([n]) => n), PARAM_NAMES);
  assert.deepEqual(net.namedParameters("model").map(([n]) => n)[1], "model.encoder.0.lin.weight");
  assert.deepEqual(net.namedParameters("", false).map(([n]) => n), ["scale"]);
  assert.equal(net.parameters().length, PARAM_NAMES.length);
  assert.equal(net.numParameters(), 1 + 2 * (12 + 4 + 4 + 4) + 8 + 2);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), ["steps", "runningMean"]);
  assert.deepEqual(net.namedModules().map(([n]) => n), [
    "", "encoder", "encoder.0", "encoder.0.lin", "encoder.0.norm", "encoder.0.drop",
    "encoder.1", "encoder.1.lin", "encoder.1.norm", "encoder.1.drop", "head",
  ]);
  assert.deepEqual(net.namedChildren().map(([n]) => n), ["encoder", "head"]);
});

test("stateDict holds parameters and buffers, sharing storage; loadStateDict restores another model", () => {
  const a = new Net();
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd).sort(), [...PARAM_NAMES, "steps", "runningMean"].sort());
  assert.equal(sd["head.weight"].data, a.head.weight.data, "state dict entries share storage");
  assert.equal(sd["head.weight"].requiresGrad, false, "state dict entries are detached");

  const b = new Net();
  gl.nn.init.normal_(b.head.weight, 0, 5);
  (b as unknown as { steps: gl.Tensor }).steps.fill_(9);
  const x = gl.randn([2, 4], { generator: new gl.Generator(3) });
  a.eval();
  b.eval();
  assert.notDeepEqual(Array.from(b.forward(x).toArray()), Array.from(a.forward(x).toArray()));
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(Array.from(b.forward(x).toArray()), Array.from(a.forward(x).toArray()));
  assert.deepEqual(Array.from((b as unknown as { steps: gl.Tensor }).steps.toArray()), [0]);
  // Loading copies values: the two models do not share storage afterwards.
  assert.notEqual(b.head.weight.data, a.head.weight.data);
});

test("a state dict survives a safetensors round trip", () => {
  const a = new Net();
  const b = new Net();
  gl.nn.init.zeros_(b.encoder.at(1).lin.weight);
  b.loadStateDict(gl.io.readSafetensors(gl.io.writeSafetensors(a.stateDict())));
  for (const [n, p] of b.namedParameters()) {
    assert.deepEqual(Array.from(p.toArray()), Array.from(a.stateDict()[n].toArray()), n);
  }
});

test("strict loadStateDict names every missing, unexpected and size-mismatched key", () => {
  const net = new Net();
  const sd = net.stateDict();
  delete sd["head.bias"];
  delete sd["encoder.1.norm.weight"];
  sd["extra.weight"] = gl.zeros([1]);
  sd["head.weight"] = gl.zeros([3, 4]);
  assert.throws(
    () => net.loadStateDict(sd),
    (e: unknown) => {
      assert.ok(e instanceof gl.GradlabError);
      assert.match(e.message, /size mismatch for head\.weight: checkpoint \[3, 4\] vs model \[2, 4\]/);
      assert.match(e.message, /missing keys: encoder\.1\.norm\.weight, head\.bias/);
      assert.match(e.message, /unexpected keys: extra\.weight/);
      return true;
    },
  );
});

test("non-strict loadStateDict loads what matches and returns missing and unexpected keys", () => {
  const a = new Net();
  const b = new Net();
  gl.nn.init.zeros_(b.head.weight);
  const sd = a.stateDict();
  delete sd["head.bias"];
  sd["extra.weight"] = gl.zeros([1]);
  const res = b.loadStateDict(sd, { strict: false });
  assert.deepEqual(res, { missingKeys: ["head.bias"], unexpectedKeys: ["extra.weight"] });
  assert.deepEqual(Array.from(b.head.weight.toArray()), Array.from(a.head.weight.toArray()));
  // As in PyTorch, a shape mismatch is an error even when not strict.
  sd["head.weight"] = gl.zeros([5, 4]);
  assert.throws(() => b.loadStateDict(sd, { strict: false }), /size mismatch for head\.weight/);
});

test("loadStateDict casts values to each parameter's dtype and rejects non-tensors", () => {
  const lin = new Linear(2, 2, { dtype: "float64" });
  lin.loadStateDict({ weight: gl.tensor([[1, 2], [3, 4]], { dtype: "float32" }), bias: gl.tensor([5, 6], { dtype: "int32" }) });
  assert.equal(lin.weight.dtype, "float64");
  assert.deepEqual(lin.weight.tolist(), [[1, 2], [3, 4]]);
  assert.deepEqual(lin.bias!.tolist(), [5, 6]);
  assert.throws(() => lin.loadStateDict({ weight: [[1]] as unknown as gl.Tensor, bias: gl.zeros([2]) }), /value of "weight" is not a Tensor/);
});

test("tied parameters are listed once but saved and loaded under every name", () => {
  class Tied extends Module {
    a = new Linear(3, 3, { bias: false });
    b = new Linear(3, 3, { bias: false });
  }
  const m = new Tied();
  m.b.weight = m.a.weight;
  assert.deepEqual(m.namedParameters().map(([n]) => n), ["a.weight"]);
  assert.deepEqual(Object.keys(m.stateDict()), ["a.weight", "b.weight"]);
  const w = gl.arange(9, undefined, 1, { dtype: "float32" }).reshape(3, 3);
  m.loadStateDict({ "a.weight": w, "b.weight": w });
  assert.equal(m.a.weight, m.b.weight);
  assert.deepEqual(Array.from(m.b.weight.toArray()), Array.from(w.toArray()));
});

test("to({ dtype }) converts parameters, gradients and float buffers in place, keeping identities", () => {
  const net = new Net();
  const params = net.parameters();
  const before = params.map((p) => Array.from(p.toArray()));
  net.forward(gl.randn([2, 4])).sum().backward();
  const steps = (net as unknown as { steps: gl.Tensor }).steps;
  assert.equal(net.to({ dtype: "float64" }), net);
  const after = net.parameters();
  params.forEach((p, i) => {
    assert.equal(after[i], p, "same Parameter object (optimizers keep working)");
    assert.equal(p.dtype, "float64");
    assert.equal(p.grad!.dtype, "float64");
    assert.equal(p.requiresGrad, true);
    assert.deepEqual(Array.from(p.toArray()), before[i]);
  });
  assert.equal((net as unknown as { runningMean: gl.Tensor }).runningMean.dtype, "float64");
  assert.equal(steps.dtype, "int32", "integer buffers stay integer");
  const x = gl.randn([2, 4], { dtype: "float64" });
  net.eval();
  assert.equal(net.forward(x).dtype, "float64");
  assert.throws(() => net.to({ dtype: "int32" }), /float32 or float64/);
});

test("train() and eval() reach every submodule; Dropout follows", () => {
  const net = new Net();
  assert.ok(net.modules().every((m) => m.training));
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  const x = gl.randn([64]);
  assert.equal(net.encoder.at(0).drop.forward(x), x, "dropout is the identity in eval mode");
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.train(false);
  assert.equal(net.head.training, false);
});

test("zeroGrad drops every gradient", () => {
  const net = new Net();
  net.forward(gl.randn([5, 4])).sum().backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

test("toString prints the module tree in PyTorch's layout", () => {
  const net = new Sequential(new Linear(2, 3), new Tanh(), new ModuleList([new LayerNorm([3]), new Dropout(0.25)]));
  assert.equal(
    net.toString(),
    [
      "Sequential(",
      "  (0): Linear(inFeatures=2, outFeatures=3, bias=true)",
      "  (1): Tanh()",
      "  (2): ModuleList(",
      "    (0): LayerNorm([3], eps=0.00001, elementwiseAffine=true)",
      "    (1): Dropout(p=0.25)",
      "  )",
      ")",
    ].join("\n"),
  );
  assert.equal(String(new gl.nn.Embedding(10, 4, { paddingIdx: -1 })), "Embedding(10, 4, paddingIdx=9)");
});

test("register* check names and values; apply visits children before parents", () => {
  const m = new Module();
  assert.throws(() => m.registerParameter("a.b", new Parameter(gl.zeros([1]))), /without "\."/);
  assert.throws(() => m.registerParameter("w", gl.zeros([1]) as gl.nn.Parameter), /must be a Parameter or null/);
  assert.throws(() => m.registerBuffer("b", 3 as unknown as gl.Tensor), /must be a Tensor or null/);
  assert.throws(() => m.registerModule("c", {} as Module), /must be a Module or null/);
  m.registerParameter("weight_ih_l0", new Parameter(gl.zeros([2])));
  m.registerParameter("bias_ih_l0", null);
  assert.deepEqual(m.namedParameters().map(([n]) => n), ["weight_ih_l0"]);
  assert.deepEqual(Object.keys(m.stateDict()), ["weight_ih_l0"]);
  const seen: string[] = [];
  new Sequential(new Tanh(), new Sequential(new Linear(1, 1))).apply((x) => seen.push(x.constructor.name));
  assert.deepEqual(seen, ["Tanh", "Linear", "Sequential", "Sequential"]);
  assert.throws(() => new Module().forward(), /Module\.forward is not implemented/);
});

test("Parameter shares a contiguous tensor's storage, copies a strided view, and is a leaf", () => {
  const t = gl.zeros([2, 3]);
  const p = new Parameter(t);
  assert.equal(p.data, t.data);
  assert.ok(p.requiresGrad && p.isLeaf);
  const v = gl.arange(6, undefined, 1, { dtype: "float32" }).reshape(2, 3).t();
  const q = new Parameter(v, false);
  assert.deepEqual(q.tolist(), [[0, 3], [1, 4], [2, 5]]);
  assert.notEqual(q.data, v.data);
  assert.equal(q.requiresGrad, false);
  assert.throws(() => new Parameter(gl.tensor([1], { dtype: "int32" })), gl.AutogradError);
  assert.throws(() => new Parameter([1] as unknown as gl.Tensor), /Parameter: expected a Tensor/);
  const y = gl.ones([2], { requiresGrad: true }).mul(2);
  assert.ok(new Parameter(y).isLeaf, "a Parameter made from a graph output starts a new leaf");
});
