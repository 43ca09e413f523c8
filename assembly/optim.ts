// One optimizer step over contiguous float32 parameters, gradients and state in this module's memory:
// the twins of the reference kernels (src/backends/js/optim.ts), PyTorch's single-tensor updates one
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

@inline function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : f32x4.splat(load<f32>(p));
}

@inline function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else store<f32>(p, f32x4.extract_lane(v, 0));
}

@inline function sgdAt(
  full: bool, p: usize, g: usize, buf: usize, sign: v128, wd: v128, decays: bool, mu: v128, keep: v128,
  nesterov: bool, first: bool, negLr: v128,
): void {
  const pv = ld(p, full);
  let gv = f32x4.mul(sign, ld(g, full));
  if (decays) gv = f32x4.add(gv, f32x4.mul(wd, pv));
  if (buf != 0) {
    const b = first ? gv : f32x4.add(f32x4.mul(ld(buf, full), mu), f32x4.mul(keep, gv));
    st(buf, b, full);
    gv = nesterov ? f32x4.add(gv, f32x4.mul(mu, b)) : b;
  }
  st(p, f32x4.add(pv, f32x4.mul(negLr, gv)), full);
}

/** One SGD step over n float32 values (the twin of the reference sgdUpdate); buf = 0: no momentum. */
export function sgdStep(
  n: i32, p: usize, g: usize, buf: usize, sign: f32, wd: f32, decays: bool, mu: f32, keep: f32, nesterov: bool, first: bool, negLr: f32,
): void {
  const sv = f32x4.splat(sign), wv = f32x4.splat(wd), mv = f32x4.splat(mu), kv = f32x4.splat(keep), lv = f32x4.splat(negLr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    sgdAt(true, p + o, g + o, buf == 0 ? 0 : buf + o, sv, wv, decays, mv, kv, nesterov, first, lv);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    sgdAt(false, p + o, g + o, buf == 0 ? 0 : buf + o, sv, wv, decays, mv, kv, nesterov, first, lv);
  }
}

@inline function rmspropAt(
  full: bool, p: usize, g: usize, sq: usize, buf: usize, gavg: usize, sign: v128, wd: v128, decays: bool,
  alpha: v128, c: v128, small: bool, cc: v128, eps: v128, mom: v128, negLr: v128,
): void {
  const pv = ld(p, full);
  let gv = f32x4.mul(sign, ld(g, full));
  if (decays) gv = f32x4.add(gv, f32x4.mul(wd, pv));
  const s = f32x4.add(f32x4.mul(ld(sq, full), alpha), f32x4.mul(f32x4.mul(c, gv), gv));
  st(sq, s, full);
  let avg: v128;
  if (gavg != 0) {
    const a = ld(gavg, full);
    const d = f32x4.sub(gv, a);
    const na = small ? f32x4.add(a, f32x4.mul(c, d)) : f32x4.sub(gv, f32x4.mul(d, cc));
    st(gavg, na, full);
    avg = f32x4.sqrt(f32x4.add(s, f32x4.mul(f32x4.neg(na), na)));
  } else {
    avg = f32x4.sqrt(s);
  }
  avg = f32x4.add(avg, eps);
  if (buf != 0) {
    const b = f32x4.add(f32x4.mul(ld(buf, full), mom), f32x4.div(gv, avg));
    st(buf, b, full);
    st(p, f32x4.add(pv, f32x4.mul(negLr, b)), full);
  } else {
    st(p, f32x4.add(pv, f32x4.div(f32x4.mul(negLr, gv), avg)), full);
  }
}

/** One RMSprop step over n float32 values (the twin of the reference rmspropUpdate); 0: unused buffer. */
export function rmspropStep(
  n: i32, p: usize, g: usize, sq: usize, buf: usize, gavg: usize, sign: f32, wd: f32, decays: bool,
  alpha: f32, c: f32, cc: f32, eps: f32, mom: f32, negLr: f32,
): void {
  const small = abs<f32>(c) < 0.5;
  const sv = f32x4.splat(sign), wv = f32x4.splat(wd), av = f32x4.splat(alpha), cv = f32x4.splat(c), ccv = f32x4.splat(cc);
  const ev = f32x4.splat(eps), mv = f32x4.splat(mom), lv = f32x4.splat(negLr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    rmspropAt(true, p + o, g + o, sq + o, buf == 0 ? 0 : buf + o, gavg == 0 ? 0 : gavg + o, sv, wv, decays, av, cv, small, ccv, ev, mv, lv);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    rmspropAt(false, p + o, g + o, sq + o, buf == 0 ? 0 : buf + o, gavg == 0 ? 0 : gavg + o, sv, wv, decays, av, cv, small, ccv, ev, mv, lv);
  }
}
