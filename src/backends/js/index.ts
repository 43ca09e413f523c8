import { REFERENCE_BACKEND, registerKernel } from "../../backend/registry.js";
import { binary, clamp, copy, unary, where } from "./elementwise.js";
import { gather, indexAdd, indexSelect, scatterAdd } from "./indexing.js";
import { matmul } from "./matmul.js";
import { argReduce, reduce } from "./reduce.js";

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
}

registerReferenceBackend();
