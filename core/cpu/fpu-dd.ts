// Double-double arithmetic (about 106 significant bits) for the x87 transcendental
// instructions: enough headroom to round sin, cos, tan, 2^x - 1 and log2 to 64 bits. Results
// come back in the module variables `hi`/`lo` (no allocation).

export let hi = 0;
export let lo = 0;

const SPLITTER = 134217729; // 2^27 + 1

// Error-free transformations. Their results go to ts/te and tp/tq.
let ts = 0, te = 0;
function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  ts = s;
  te = (a - (s - bb)) + (b - bb);
}
function quickTwoSum(a: number, b: number): void {
  const s = a + b;
  ts = s;
  te = b - (s - a);
}
let tp = 0, tq = 0;
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b), bl = b - bh;
  tp = p;
  tq = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** The exact product a * b as hi + lo. */
export function exactProduct(a: number, b: number): void {
  twoProd(a, b);
  hi = tp;
  lo = tq;
}

export function set(h: number, l: number): void {
  hi = h;
  lo = l;
}

export function add(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh);
  const s = ts;
  let e = te;
  twoSum(al, bl);
  const t = ts, f = te;
  e += t;
  quickTwoSum(s, e);
  e = te + f;
  quickTwoSum(ts, e);
  hi = ts;
  lo = te;
}

export function mul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const e = tq + (ah * bl + al * bh);
  quickTwoSum(tp, e);
  hi = ts;
  lo = te;
}

/** (ah, al) / d for a double d. */
export function divNumber(ah: number, al: number, d: number): void {
  const q1 = ah / d;
  twoProd(q1, d);
  // remainder = a - q1 * d
  twoSum(ah, -tp);
  const r = (ts + (te - tq)) + al;
  const q2 = r / d;
  quickTwoSum(q1, q2);
  hi = ts;
  lo = te;
}

export function div(ah: number, al: number, bh: number, bl: number): void {
  const q1 = ah / bh;
  mul(q1, 0, bh, bl);
  add(ah, al, -hi, -lo);
  const q2 = hi / bh;
  const rh = hi, rl = lo;
  mul(q2, 0, bh, bl);
  add(rh, rl, -hi, -lo);
  const q3 = hi / bh;
  quickTwoSum(q1, q2);
  add(ts, te, q3, 0);
}

/** sin and cos of a reduced argument |r| <= about pi/4: into sinH/sinL and cosH/cosL. */
export let sinH = 0, sinL = 0, cosH = 0, cosL = 0;
export function sinCos(rh: number, rl: number): void {
  mul(rh, rl, rh, rl);
  const r2h = hi, r2l = lo;
  // sin
  let th = rh, tl = rl, sh = rh, sl = rl;
  for (let k = 1; k < 30; k++) {
    mul(th, tl, r2h, r2l);
    divNumber(-hi, -lo, (2 * k) * (2 * k + 1));
    th = hi; tl = lo;
    add(sh, sl, th, tl);
    sh = hi; sl = lo;
    if (Math.abs(th) < Math.abs(sh) * 1e-34) break;
  }
  sinH = sh; sinL = sl;
  // cos
  th = 1; tl = 0; sh = 1; sl = 0;
  for (let k = 1; k < 30; k++) {
    mul(th, tl, r2h, r2l);
    divNumber(-hi, -lo, (2 * k - 1) * (2 * k));
    th = hi; tl = lo;
    add(sh, sl, th, tl);
    sh = hi; sl = lo;
    if (Math.abs(th) < 1e-34) break;
  }
  cosH = sh; cosL = sl;
}

/** e^t - 1 for |t| <= about 0.7. */
export function expm1(th0: number, tl0: number): void {
  let th = th0, tl = tl0, sh = th0, sl = tl0;
  for (let n = 2; n < 40; n++) {
    mul(th, tl, th0, tl0);
    divNumber(hi, lo, n);
    th = hi; tl = lo;
    add(sh, sl, th, tl);
    sh = hi; sl = lo;
    if (Math.abs(th) < Math.abs(sh) * 1e-34) break;
  }
  hi = sh; lo = sl;
}

/** 2 * atanh(s) = ln((1 + s) / (1 - s)) for |s| <= about 0.18. */
export function twoAtanh(s0h: number, s0l: number): void {
  mul(s0h, s0l, s0h, s0l);
  const s2h = hi, s2l = lo;
  let ph = s0h, pl = s0l, sh = s0h, sl = s0l;
  for (let k = 1; k < 40; k++) {
    mul(ph, pl, s2h, s2l);
    ph = hi; pl = lo;
    divNumber(ph, pl, 2 * k + 1);
    const th = hi;
    add(sh, sl, hi, lo);
    sh = hi; sl = lo;
    if (Math.abs(th) < Math.abs(sh) * 1e-34) break;
  }
  hi = 2 * sh; lo = 2 * sl;
}

/** A double-double from a 96-bit significand W0:W1:W2 times 2^(scale - 95). */
export function fromWords(w0: number, w1: number, w2: number, scale: number): void {
  const h = (w0 * 2097152 + (w1 >>> 11)) * Math.pow(2, scale - 52);
  const l = ((w1 & 0x7ff) * 4294967296 + w2) * Math.pow(2, scale - 95);
  quickTwoSum(h, l);
  hi = ts;
  lo = te;
}

/** Square root of a positive double-double. */
export function sqrt(ah: number, al: number): void {
  const s = Math.sqrt(ah);
  twoProd(s, s);
  // (a - s^2) / (2s) corrects the double estimate.
  twoSum(ah, -tp);
  const r = ((ts + (te - tq)) + al) / (2 * s);
  quickTwoSum(s, r);
  hi = ts;
  lo = te;
}

/** atan(z) for |z| <= 1 (two argument halvings, then the Taylor series). */
export function atan(zh: number, zl: number): void {
  for (let k = 0; k < 2; k++) {
    // z / (1 + sqrt(1 + z^2)) = tan(atan(z) / 2)
    mul(zh, zl, zh, zl);
    add(hi, lo, 1, 0);
    sqrt(hi, lo);
    add(hi, lo, 1, 0);
    div(zh, zl, hi, lo);
    zh = hi; zl = lo;
  }
  mul(zh, zl, zh, zl);
  const z2h = hi, z2l = lo;
  let ph = zh, pl = zl, sh = zh, sl = zl;
  for (let k = 1; k < 40; k++) {
    mul(ph, pl, -z2h, -z2l);
    ph = hi; pl = lo;
    divNumber(ph, pl, 2 * k + 1);
    const th = hi;
    add(sh, sl, hi, lo);
    sh = hi; sl = lo;
    if (Math.abs(th) < Math.abs(sh) * 1e-34) break;
  }
  hi = 4 * sh;
  lo = 4 * sl;
}
