/** Number parsing from bytes and formatting, allocation-free on the fast path (hot loops of readers). */

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Parse a decimal number from `buf[start, end)`; NaN if it is not one. Clinger's fast path (at most
 * 15 significant digits, |power of ten| <= 22) is exact; anything else falls back to Number(text),
 * so the result is always the correctly rounded double.
 */
export function parseFloatBytes(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i >= end) return Number.NaN;
  let neg = false;
  let c = buf[i];
  if (c === 45 || c === 43) {
    neg = c === 45;
    i++;
  }
  let mant = 0;
  let digits = 0;
  let sig = 0;
  let scale = 0;
  let any = false;
  for (; i < end; i++) {
    c = buf[i];
    if (c < 48 || c > 57) break;
    any = true;
    if (sig > 0 || c !== 48) sig++;
    mant = mant * 10 + (c - 48);
    digits++;
  }
  if (i < end && buf[i] === 46) {
    i++;
    for (; i < end; i++) {
      c = buf[i];
      if (c < 48 || c > 57) break;
      any = true;
      if (sig > 0 || c !== 48) sig++;
      mant = mant * 10 + (c - 48);
      scale--;
      digits++;
    }
  }
  if (!any) return slowParse(buf, start, end);
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    let eneg = false;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) {
      eneg = buf[i] === 45;
      i++;
    }
    let ex = 0;
    let edigits = 0;
    for (; i < end; i++) {
      c = buf[i];
      if (c < 48 || c > 57) break;
      ex = ex * 10 + (c - 48);
      edigits++;
      if (ex > 100000) ex = 100000;
    }
    if (edigits === 0) return Number.NaN;
    scale += eneg ? -ex : ex;
  }
  if (i !== end) return Number.NaN;
  if (sig > 15 || digits > 300) return slowParse(buf, start, end);
  let v: number;
  if (mant === 0) v = 0;
  else if (scale >= 0 && scale <= 22) v = mant * POW10[scale];
  else if (scale < 0 && scale >= -22) v = mant / POW10[-scale];
  else return slowParse(buf, start, end);
  return neg ? -v : v;
}

function slowParse(buf: Uint8Array, start: number, end: number): number {
  const s = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : Number.NaN;
}

/** Parse a non-negative integer from `buf[start, end)`; -1 if it is not one (or above 2^53). */
export function parseUintBytes(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v > Number.MAX_SAFE_INTEGER ? -1 : v;
}

/** The shortest decimal text that reads back as the same float32 value. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const f = Math.fround(v);
  // starting at 6 digits gives the same result as starting at 1 (fewer digits come out padded
  // with zeros, which String(Number(s)) strips), and most float32 values need 7 to 9
  for (let p = 6; p < 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(Number(f.toPrecision(9)));
}

/** First index i with a[i] >= v in an ascending array (a.length if none). */
export function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The layer number a module or tensor name holds: "model.layers.3.mlp.gate" -> 3, "layer_3" -> 3,
 * "blk.7.ffn_gate_inp" -> 7, "router_logits.12" -> 12 (a number after layer/layers/block/blk/h, else a
 * number standing alone between separators); a plain "3" -> 3; undefined when there is none.
 */
export function layerNumberIn(name: string): number | undefined {
  const s = name.trim();
  if (/^\d+$/.test(s)) return Number(s);
  // a number that is not a non-negative integer ("-1", "3.5") names no layer (its digits are not one)
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const m = /(?:^|[._/\-\s])(?:layers?|blocks?|blk|h)[._/\-]?(\d+)(?=$|[._/\-\s])/i.exec(s) ?? /(?:^|[._/\-\s])(\d+)(?=$|[._/\-\s])/.exec(s);
  return m === null ? undefined : Number(m[1]);
}

/** A non-negative integer given as a number or as a decimal string ("3", " 3 "), else undefined. */
export function intOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

/**
 * A JSON text with the non-standard tokens NaN, Infinity and -Infinity (Python's json.dumps writes them
 * for float nan / inf) quoted as strings, so the row parses and the importer can name the field holding
 * one; undefined when there is none to quote.
 */
export function quoteNonFinite(text: string): string | undefined {
  const out = text.replace(/([:,[]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '$1"$2"');
  return out === text ? undefined : out;
}

/** "NaN", "Infinity", "-Infinity", "nan", "inf" as text: a number that is not finite. */
export function isNonFiniteText(v: unknown): v is string {
  return typeof v === 'string' && /^\s*[+-]?(nan|inf|infinity)\s*$/i.test(v);
}
