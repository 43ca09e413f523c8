import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

/**
 * A PyTorch-written file drives gradlab layers: torch.nn.RNN(5, 4, num_layers=2) unrolled by hand
 * from Linear layers whose weights come from the fixture through readSafetensors + loadStateDict.
 * Outputs and every weight gradient must match PyTorch's to float64 precision.
 */
test("an RNN built from Linear layers loaded from a PyTorch state dict reproduces PyTorch's outputs and gradients", () => {
  const file = "test/fixtures/rnn/rnn_tanh_2layer.safetensors";
  const sd = gl.io.readSafetensors(new Uint8Array(readFileSync(file)), file);
  const info = JSON.parse(readFileSync(file.replace(".safetensors", ".json"), "utf8"));
  const { T, I, H, layers } = info as { T: number; I: number; H: number; layers: number };

  const { Linear, ModuleList } = gl.nn;
  const ih = new ModuleList<gl.nn.Linear>();
  const hh = new ModuleList<gl.nn.Linear>();
  for (let l = 0; l < layers; l++) {
    ih.append(new Linear(l === 0 ? I : H, H, { dtype: "float64" }));
    hh.append(new Linear(H, H, { dtype: "float64" }));
  }
  class Stack extends gl.nn.Module {
    ih = ih;
    hh = hh;
  }
  const model = new Stack();
  // PyTorch's flat names mapped onto the module tree; a strict load proves every name and shape fits.
  const mapped: Record<string, gl.Tensor> = {};
  for (let l = 0; l < layers; l++) {
    for (const kind of ["ih", "hh"]) {
      mapped[`${kind}.${l}.weight`] = sd[`param.weight_${kind}_l${l}`];
      mapped[`${kind}.${l}.bias`] = sd[`param.bias_${kind}_l${l}`];
    }
  }
  assert.deepEqual(model.loadStateDict(mapped), { missingKeys: [], unexpectedKeys: [] });

  let input = sd.x;
  const hN: gl.Tensor[] = [];
  for (let l = 0; l < layers; l++) {
    let h = sd.h0.select(0, l);
    const outs: gl.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      h = ih.at(l).forward(input.select(0, t)).add(hh.at(l).forward(h)).tanh();
      outs.push(h);
    }
    hN.push(h);
    input = gl.stack(outs, 0);
  }
  const y = input;
  const hn = gl.stack(hN, 0);
  assertClose(y.toArray(), sd.y.toArray(), 1e-12, 1e-10, "y");
  assertClose(hn.toArray(), sd.h_n.toArray(), 1e-12, 1e-10, "h_n");

  const loss = y.mul(sd.R_y).sum().add(hn.mul(sd.R_h).sum());
  assertClose([loss.item()], [info.loss], 1e-12, 1e-10, "loss");
  loss.backward();
  for (let l = 0; l < layers; l++) {
    for (const [kind, list] of [["ih", ih], ["hh", hh]] as const) {
      const lin = list.at(l);
      assertClose(lin.weight.grad!.toArray(), sd[`grad.param.weight_${kind}_l${l}`].toArray(), 1e-12, 1e-10, `weight_${kind}_l${l}`);
      assertClose(lin.bias!.grad!.toArray(), sd[`grad.param.bias_${kind}_l${l}`].toArray(), 1e-12, 1e-10, `bias_${kind}_l${l}`);
    }
  }
});
