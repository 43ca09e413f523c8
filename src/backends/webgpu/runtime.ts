/// <reference types="@webgpu/types" />
/**
 * The WebGPU runtime: one device, a pipeline cache keyed by WGSL source, cached uniform buffers and
 * bind groups, a buffer pool, and one open command encoder into which every kernel encodes its
 * dispatches, so a whole training step goes to the GPU as one submit.
 *
 * Devices: the browser's `navigator.gpu`; in Node the optional npm package `webgpu` (Dawn), loaded
 * by a dynamic import whose specifier bundlers leave alone. Machines without a GPU: Dawn's OpenGL
 * ES backend on Mesa's llvmpipe (`EGL_PLATFORM=surfaceless`, compatibility feature level).
 */
import { GradlabError } from "../../core/errors.js";

export class WebGPUError extends GradlabError {}

export interface RequestGpuOptions {
  /** Dawn backend for Node: "vulkan", "opengles", ... (default: Dawn's choice, then OpenGL ES). */
  backend?: string;
  powerPreference?: GPUPowerPreference;
}

type NodeWebGPU = { create(flags: string[]): GPU; globals: Record<string, unknown> };

// A variable specifier: bundlers (esbuild for the browser build) do not try to resolve it.
const NODE_PACKAGE = "webgpu";
let nodeModule: Promise<NodeWebGPU | null> | null = null;

function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

async function loadNodeWebGPU(): Promise<NodeWebGPU | null> {
  nodeModule ??= (import(/* @vite-ignore */ NODE_PACKAGE) as Promise<NodeWebGPU>).then(
    (m) => {
      // The constants (GPUBufferUsage, GPUShaderStage, ...) live on globals in Node.
      for (const [k, v] of Object.entries(m.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
      return m;
    },
    () => null,
  );
  return nodeModule;
}

/** Why the last requestGpu() found no device, for error messages and fallbacks. */
let lastFailure = "";
export function gpuUnavailableReason(): string {
  return lastFailure;
}

async function adapterFrom(gpu: GPU, compat: boolean, powerPreference?: GPUPowerPreference): Promise<GPUAdapter | null> {
  const opts: GPURequestAdapterOptions & { featureLevel?: string } = { powerPreference };
  if (compat) opts.featureLevel = "compatibility";
  try {
    return await gpu.requestAdapter(opts);
  } catch {
    return null;
  }
}

async function findAdapter(o: RequestGpuOptions): Promise<{ adapter: GPUAdapter; backend: string; instance: GPU } | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !isNode()) {
    const a = (await adapterFrom(nav.gpu, false, o.powerPreference)) ?? (await adapterFrom(nav.gpu, true, o.powerPreference));
    if (a) return { adapter: a, backend: "browser", instance: nav.gpu };
    lastFailure = "navigator.gpu returned no adapter";
    return null;
  }
  if (!isNode()) {
    lastFailure = "this environment has no WebGPU (navigator.gpu is missing)";
    return null;
  }
  const mod = await loadNodeWebGPU();
  if (!mod) {
    lastFailure = `the optional package "webgpu" (Dawn for Node) is not installed or failed to load`;
    return null;
  }
  // OpenGL ES on a headless machine needs a surfaceless EGL platform; set it before Dawn starts.
  if (process.env.EGL_PLATFORM === undefined) process.env.EGL_PLATFORM = "surfaceless";
  const tries = o.backend ? [o.backend] : ["", "opengles"];
  for (const b of tries) {
    const instance = mod.create(b ? [`backend=${b}`] : []);
    const a = (await adapterFrom(instance, false, o.powerPreference)) ?? (await adapterFrom(instance, true, o.powerPreference));
    if (a) return { adapter: a, backend: b || "default", instance };
  }
  lastFailure = `Dawn found no adapter (tried backends: ${tries.map((b) => b || "default").join(", ")})`;
  return null;
}

// Raised up to the adapter's values: compatibility-mode defaults are too low for the kernels.
const LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupStorageSize",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
] as const;

/** A device ready for gradlab's kernels, or null (with gpuUnavailableReason()) when none exists. */
export async function requestGpu(o: RequestGpuOptions = {}): Promise<Gpu | null> {
  const found = await findAdapter(o);
  if (!found) return null;
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) requiredLimits[k] = found.adapter.limits[k];
  let device: GPUDevice;
  try {
    device = await found.adapter.requestDevice({ requiredLimits });
  } catch (e) {
    lastFailure = `requestDevice failed: ${(e as Error).message}`;
    return null;
  }
  const i = found.adapter.info;
  const info = { vendor: i?.vendor ?? "", architecture: i?.architecture ?? "", device: i?.device ?? "", description: i?.description ?? "" };
  return new Gpu(device, found.backend, found.instance, info);
}

/** What the adapter says about itself (fields may be empty: browsers hide some). */
export interface AdapterInfo { vendor: string; architecture: string; device: string; description: string }

/** Like requestGpu, but throws a WebGPUError saying why when there is no device. */
export async function requireGpu(o: RequestGpuOptions = {}): Promise<Gpu> {
  const g = await requestGpu(o);
  if (!g) throw new WebGPUError(`webgpu: no GPU device: ${lastFailure}`);
  return g;
}

let nextId = 1;
const ids = new WeakMap<GPUBuffer, number>();
function bufferId(b: GPUBuffer): number {
  let id = ids.get(b);
  if (id === undefined) ids.set(b, (id = nextId++));
  return id;
}

export type Binding = GPUBuffer;

type Op =
  | { kind: "dispatch"; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number; z: number }
  | { kind: "copy"; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: "clear"; buffer: GPUBuffer; offset: number; bytes: number | undefined };

/**
 * The commands some encoding produced, to encode again with replay(): the same pipelines, bind
 * groups (so the same buffers and uniform values) and sizes, without the kernels' checks, uniform
 * packing and cache look-ups. A training step with fixed shapes encodes the same commands every
 * time; replaying them costs a few native calls per dispatch.
 */
export class Recording {
  constructor(readonly ops: readonly Op[]) {}
  get dispatches(): number {
    return this.ops.filter((o) => o.kind === "dispatch").length;
  }
}

/** One device and the state that makes encoding cheap. */
export class Gpu {
  readonly limits: GPUSupportedLimits;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; id: number }>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private destroyed = false;
  private tape: Op[] | null = null;
  /** Dispatches encoded since creation (for benchmarks and tests of batching). */
  dispatches = 0;
  submits = 0;
  /** Storage buffers created by alloc() because the pool had none of the size (for leak checks). */
  buffersCreated = 0;

  constructor(
    readonly device: GPUDevice,
    readonly backend: string,
    // Kept so the Dawn instance is not collected while its device lives.
    readonly instance: GPU,
    readonly info: AdapterInfo = { vendor: "", architecture: "", device: "", description: "" },
  ) {
    this.limits = device.limits;
    // Validation errors (a WGSL compile error, a bad binding) surface at the next read or sync.
    device.addEventListener("uncapturederror", (ev) => {
      this.error ??= (ev as GPUUncapturedErrorEvent).error.message;
    });
  }

  private error: string | null = null;

  /** Throws the first GPU validation error seen since the last check. */
  checkErrors(): void {
    const e = this.error;
    if (e !== null) {
      this.error = null;
      throw new WebGPUError(`webgpu: the device reported an error: ${e}`);
    }
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  get workgroupInvocations(): number {
    return this.limits.maxComputeInvocationsPerWorkgroup;
  }

  /** The compute pipeline for this WGSL source (compiled once). */
  pipeline(code: string): { pipeline: GPUComputePipeline; id: number } {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      const pipeline = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      p = { pipeline, id: this.pipelines.size + 1 };
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** A uniform buffer holding these 32-bit words; identical contents share one buffer. */
  uniform(words: ArrayBuffer): GPUBuffer {
    const u32 = new Uint32Array(words);
    const key = u32.join(",");
    let b = this.uniforms.get(key);
    if (!b) {
      const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
      b = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      this.device.queue.writeBuffer(b, 0, words);
      if (this.uniforms.size > 20000) this.uniforms.clear();
      this.uniforms.set(key, b);
    }
    return b;
  }

  /** A storage buffer of at least `bytes` bytes from the pool (contents undefined). */
  alloc(bytes: number): GPUBuffer {
    const size = bucket(bytes);
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw new WebGPUError(`webgpu: a buffer of ${bytes} bytes exceeds the device's maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize})`);
    }
    const free = this.pool.get(size);
    if (free?.length) return free.pop()!;
    this.buffersCreated++;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /** A pooled buffer of at least `bytes` (bucketed), or null when the pool has none of that size. */
  takePooled(bytes: number): GPUBuffer | null {
    return this.pool.get(bucket(bytes))?.pop() ?? null;
  }

  /** Buffers waiting in the pool, and their bytes. */
  poolStats(): { buffers: number; bytes: number } {
    let buffers = 0;
    let bytes = 0;
    for (const [size, list] of this.pool) {
      buffers += list.length;
      bytes += size * list.length;
    }
    return { buffers, bytes };
  }

  /** Gives a buffer back to the pool; later allocations of its size reuse it. */
  free(b: GPUBuffer): void {
    let list = this.pool.get(b.size);
    if (!list) this.pool.set(b.size, (list = []));
    list.push(b);
  }

  private computePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private copyEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /**
   * Encodes one dispatch: binding 0 is the uniform (the words), bindings 1.. the storage buffers in
   * the order the shader declares them. Dispatches in one pass run in order, each seeing the
   * previous ones' writes.
   */
  dispatch(code: string, words: ArrayBuffer, buffers: Binding[], groups: [number, number?, number?]): void {
    if (this.destroyed) throw new WebGPUError("webgpu: the device was destroyed");
    const { pipeline, id } = this.pipeline(code);
    const u = this.uniform(words);
    const key = `${id}|${bufferId(u)}|${buffers.map(bufferId).join(",")}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: u } }];
      buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
      bg = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      if (this.bindGroups.size > 20000) this.bindGroups.clear();
      this.bindGroups.set(key, bg);
    }
    const [x, y = 1, z = 1] = groups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new WebGPUError(`webgpu: dispatch of ${x}×${y}×${z} workgroups exceeds the device limit ${max} per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    this.tape?.push({ kind: "dispatch", pipeline, bindGroup: bg, x, y, z });
    this.encodeDispatch(pipeline, bg, x, y, z);
  }

  private encodeDispatch(pipeline: GPUComputePipeline, bg: GPUBindGroup, x: number, y: number, z: number): void {
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.tape?.push({ kind: "copy", src, srcOffset, dst, dstOffset, bytes });
    this.copyEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(b: GPUBuffer, offset = 0, bytes?: number): void {
    this.tape?.push({ kind: "clear", buffer: b, offset, bytes });
    this.copyEncoder().clearBuffer(b, offset, bytes);
  }

  /**
   * Runs fn, which encodes as usual, and returns what it encoded as a Recording. The caller must
   * keep every buffer it used alive and unchanged in role for as long as it replays it.
   */
  record(fn: () => void): Recording {
    if (this.tape) throw new WebGPUError("webgpu: record() cannot nest");
    this.tape = [];
    try {
      fn();
      return new Recording(this.tape);
    } finally {
      this.tape = null;
    }
  }

  /** Encodes a recording's commands again into the open encoder. */
  replay(r: Recording): void {
    if (this.destroyed) throw new WebGPUError("webgpu: the device was destroyed");
    for (const o of r.ops) {
      if (o.kind === "dispatch") this.encodeDispatch(o.pipeline, o.bindGroup, o.x, o.y, o.z);
      else if (o.kind === "copy") this.copyEncoder().copyBufferToBuffer(o.src, o.srcOffset, o.dst, o.dstOffset, o.bytes);
      else this.copyEncoder().clearBuffer(o.buffer, o.offset, o.bytes);
    }
    this.tape?.push(...r.ops);
  }

  /** Sends everything encoded so far to the GPU. */
  submit(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submits++;
    }
  }

  /** Submits pending work, then reads `bytes` bytes of a buffer back. */
  async read(b: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (size > 0) this.copyEncoder().copyBufferToBuffer(b, offset, staging, 0, size);
    this.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.checkErrors();
    return out;
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.checkErrors();
  }

  /**
   * Releases the device. Call it before a Node process exits: Dawn's threads torn down by exit
   * while a device lives have aborted processes ("futex facility returned an unexpected error").
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    for (const b of this.uniforms.values()) b.destroy();
    this.pool.clear();
    this.uniforms.clear();
    this.bindGroups.clear();
    this.pipelines.clear();
    this.device.destroy();
  }
}

/** Pool size classes: multiples of 256 bytes up to 64 KiB, then steps of 1/8 of a power of two. */
export function bucket(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 8;
  return Math.ceil(b / step) * step;
}

/** Packs uniform words: integers as u32/i32, numbers marked with f() as f32. */
/**
 * A per-device scratch buffer for one purpose (`key`), grown on demand. Dispatches run in order,
 * so every kernel of that purpose can reuse it: the dispatch that reads it runs before the next
 * one writes it. A grown scratch is dropped, never pooled: recordings (Gpu.record) may still
 * write the old one.
 */
const scratches = new WeakMap<Gpu, Map<string, GPUBuffer>>();
export function scratchBuffer(gpu: Gpu, key: string, bytes: number): GPUBuffer {
  let byKey = scratches.get(gpu);
  if (!byKey) scratches.set(gpu, (byKey = new Map()));
  let b = byKey.get(key);
  if (!b || b.size < bytes) {
    b = gpu.alloc(bytes);
    byKey.set(key, b);
  }
  return b;
}

export class Words {
  private readonly vals: { v: number; f: boolean }[] = [];
  u(...xs: number[]): this {
    for (const v of xs) this.vals.push({ v, f: false });
    return this;
  }
  f(...xs: number[]): this {
    for (const v of xs) this.vals.push({ v, f: true });
    return this;
  }
  build(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.vals.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.vals.forEach(({ v, f: isF }, i) => {
      if (isF) f[i] = v;
      else u[i] = v >>> 0;
    });
    return buf;
  }
}
