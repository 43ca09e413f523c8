/**
 * Iteration plans for elementwise kernels over strided views. Every operand (output included)
 * walks the same index space with its own strides, so the loop order is free: size-1 dims are
 * dropped, neighbouring dims that are contiguous for every operand are merged into one, and a
 * short innermost dim is swapped with the longest one, so the inner loop is long and the per-row
 * bookkeeping (one call to `nextRow`) is amortised.
 */
export interface Plan {
  /** Sizes of the loop dims, innermost last; never empty (a 0-d view is one row of 1). */
  shape: number[];
  /** strides[k][d]: operand k's stride along loop dim d. */
  strides: number[][];
  /** Number of rows (product of all dims but the innermost). */
  rows: number;
}

/** A plan over `shape` for operands with the given strides (all of `shape`'s rank). */
export function plan(shape: readonly number[], operandStrides: readonly (readonly number[])[]): Plan {
  const dims: number[] = [];
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) dims.push(d);
  let sizes = dims.map((d) => shape[d]);
  let strides = operandStrides.map((st) => dims.map((d) => st[d]));
  // Merge dim i into i+1 where, for every operand, stepping dim i is stepping dim i+1 size times.
  for (let i = sizes.length - 2; i >= 0; i--) {
    if (strides.every((st) => st[i] === st[i + 1] * sizes[i + 1])) {
      sizes[i + 1] *= sizes[i];
      sizes.splice(i, 1);
      for (const st of strides) st.splice(i, 1);
    }
  }
  if (sizes.length === 0) {
    sizes = [1];
    strides = strides.map(() => [0]);
  }
  const last = sizes.length - 1;
  if (sizes[last] < 16) {
    let longest = last;
    for (let d = 0; d < last; d++) if (sizes[d] > sizes[longest]) longest = d;
    if (longest !== last) {
      swap(sizes, longest, last);
      for (const st of strides) swap(st, longest, last);
    }
  }
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= sizes[d];
  return { shape: sizes, strides, rows };
}

function swap(a: number[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Advances `pos` (one offset per operand) from the start of a row to the start of the next, in
 * odometer order over the outer dims; `idx` (length rank, zeros at first) is the outer index.
 */
export function nextRow(p: Plan, idx: Int32Array, pos: number[]): void {
  const shape = p.shape;
  const strides = p.strides;
  const k = pos.length;
  for (let d = shape.length - 2; d >= 0; d--) {
    if (++idx[d] < shape[d]) {
      for (let j = 0; j < k; j++) pos[j] += strides[j][d];
      return;
    }
    idx[d] = 0;
    const back = shape[d] - 1;
    for (let j = 0; j < k; j++) pos[j] -= strides[j][d] * back;
  }
}

/** Row-major strides of a contiguous array of `shape`. */
export function denseStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}
