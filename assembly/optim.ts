// One Adam/AdamW step over contiguous float32 p, g, m, v (and vmax) in this module's memory:
// the twin of the reference kernel (src/backends/js/optim.ts), PyTorch's single-tensor update one
// op at a time in float32, four parameters per vector. Scalars come in already cast to float32.

@inline function adamAt(
  full: bool, p: usize, g: usize, m: usize, v: usize, vmax: usize,
  sign: v128, decay: v128, wd: v128, decoupled: bool, decays: bool, small: bool, w: v128, wc: v128,
  b2: v128, c2: v128, bc2: v128, eps: v128, negStep: v128,
): void {
  let pv = full ? v128.load(p) : f32x4.splat(load<f32>(p));
  let gv = f32x4.mul(sign, full ? v128.load(g) : f32x4.splat(load<f32>(g)));
  let mv = full ? v128.load(m) : f32x4.splat(load<f32>(m));
  let vv = full ? v128.load(v) : f32x4.splat(load<f32>(v));
  if (decays) {
    if (decoupled) pv = f32x4.mul(pv, decay);
    else gv = f32x4.add(gv, f32x4.mul(wd, pv));
  }
  const d = f32x4.sub(gv, mv);
  mv = small ? f32x4.add(mv, f32x4.mul(w, d)) : f32x4.sub(gv, f32x4.mul(d, wc));
  vv = f32x4.add(f32x4.mul(vv, b2), f32x4.mul(f32x4.mul(c2, gv), gv));
  let second = vv;
  if (vmax != 0) {
    second = f32x4.max(full ? v128.load(vmax) : f32x4.splat(load<f32>(vmax)), vv);
    if (full) v128.store(vmax, second);
    else store<f32>(vmax, f32x4.extract_lane(second, 0));
  }
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(second), bc2), eps);
  pv = f32x4.add(pv, f32x4.div(f32x4.mul(negStep, mv), denom));
  if (full) {
    v128.store(p, pv);
    v128.store(m, mv);
    v128.store(v, vv);
  } else {
    store<f32>(p, f32x4.extract_lane(pv, 0));
    store<f32>(m, f32x4.extract_lane(mv, 0));
    store<f32>(v, f32x4.extract_lane(vv, 0));
  }
}

/** vmax = 0: no AMSGrad. `small`: the lerp weight w = 1 − β1 is below 0.5 (PyTorch's switch). */
export function adamStep(
  n: i32, p: usize, g: usize, m: usize, v: usize, vmax: usize,
  sign: f32, decay: f32, wd: f32, decoupled: bool, decays: bool, w: f32, wc: f32,
  b2: f32, c2: f32, bc2: f32, eps: f32, negStep: f32,
): void {
  const small = abs<f32>(w) < 0.5;
  const sv = f32x4.splat(sign), dv = f32x4.splat(decay), wdv = f32x4.splat(wd), wv = f32x4.splat(w), wcv = f32x4.splat(wc);
  const b2v = f32x4.splat(b2), c2v = f32x4.splat(c2), bv = f32x4.splat(bc2), ev = f32x4.splat(eps), nv = f32x4.splat(negStep);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    adamAt(true, p + o, g + o, m + o, v + o, vmax == 0 ? 0 : vmax + o, sv, dv, wdv, decoupled, decays, small, wv, wcv, b2v, c2v, bv, ev, nv);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    adamAt(false, p + o, g + o, m + o, v + o, vmax == 0 ? 0 : vmax + o, sv, dv, wdv, decoupled, decays, small, wv, wcv, b2v, c2v, bv, ev, nv);
  }
}
