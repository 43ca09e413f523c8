import { REFERENCE_BACKEND, registerKernel } from "../../backend/registry.js";
import { binary, clamp, copy, unary, where } from "./elementwise.js";
import { gather, indexAdd, indexSelect, scatterAdd } from "./indexing.js";
import { crossEntropyBackward, crossEntropyForward } from "./loss.js";
import { matmul } from "./matmul.js";
import { adamUpdate, rmspropUpdate, sgdUpdate } from "./optim.js";
import { argReduce, reduce } from "./reduce.js";
import { recurrentSequenceBackward, recurrentSequenceForward } from "./recurrent.js";
import * as cells from "./recurrent-cells.js";

/** The reference backend: plain TypeScript over typed arrays, float32, float64 and int32. */
export function registerReferenceBackend(): void {
  const b = REFERENCE_BACKEND;
  registerKernel("unary", b, unary);
  registerKernel("binary", b, binary);
  registerKernel("clamp", b, clamp);
  registerKernel("where", b, where);
  registerKernel("reduce", b, reduce);
  registerKernel("argReduce", b, argReduce);
  registerKernel("matmul", b, matmul);
  registerKernel("copy", b, copy);
  registerKernel("gather", b, gather);
  registerKernel("scatterAdd", b, scatterAdd);
  registerKernel("indexSelect", b, indexSelect);
  registerKernel("indexAdd", b, indexAdd);
  registerKernel("crossEntropyForward", b, crossEntropyForward);
  registerKernel("crossEntropyBackward", b, crossEntropyBackward);
  registerKernel("adamUpdate", b, adamUpdate);
  registerKernel("sgdUpdate", b, sgdUpdate);
  registerKernel("rmspropUpdate", b, rmspropUpdate);
  registerKernel("lstmCellForward", b, cells.lstmCellForward);
  registerKernel("lstmCellBackward", b, cells.lstmCellBackward);
  registerKernel("gruCellForward", b, cells.gruCellForward);
  registerKernel("gruCellBackward", b, cells.gruCellBackward);
  registerKernel("gruRbGatesForward", b, cells.gruRbGatesForward);
  registerKernel("gruRbOutputForward", b, cells.gruRbOutputForward);
  registerKernel("gruRbOutputBackward", b, cells.gruRbOutputBackward);
  registerKernel("gruRbGatesBackward", b, cells.gruRbGatesBackward);
  registerKernel("rnnCellForward", b, cells.rnnCellForward);
  registerKernel("rnnCellBackward", b, cells.rnnCellBackward);
  // One generic reference serves all three: a fast backend may replace any of them alone.
  for (const cell of ["lstm", "gru", "rnn"] as const) {
    registerKernel(`${cell}SequenceForward`, b, recurrentSequenceForward);
    registerKernel(`${cell}SequenceBackward`, b, recurrentSequenceBackward);
  }
}

registerReferenceBackend();
