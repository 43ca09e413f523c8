// Entry point of the fast backend's WebAssembly module. The host owns all memory above
// heapBase() as a scratch arena; nothing here allocates.
export * from "./gemm";
export * from "./elementwise";
export * from "./recurrent";
export * from "./loss";
export * from "./indexing";
export * from "./optim";

export function heapBase(): usize {
  return __heap_base;
}
