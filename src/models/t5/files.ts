/**
 * File access for T5 (tokenizer model, config, weights). The Node implementation lives in
 * node.ts and is loaded on first use through a specifier bundlers leave alone, so browser
 * bundles of gradlab never pull in node:fs (as io/index.ts does for safetensors files).
 */
import { IOError } from "../../core/errors.js";

type NodeFiles = typeof import("./node.js");
const NODE_FILES = "./node.js";
let nodeFiles: Promise<NodeFiles> | null = null;

export function loadNodeFiles(op: string): Promise<NodeFiles> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) {
    return Promise.reject(new IOError(`${op}: file access needs Node; in a browser, fetch the bytes and use the fromBytes / fromState variants`));
  }
  nodeFiles ??= import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_FILES) as Promise<NodeFiles>;
  return nodeFiles;
}
