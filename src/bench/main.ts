/**
 * `npm run bench`: how many expert accesses moesim simulates per second, on one core.
 *   1. cache replay: LRU, 4 experts per layer, on a seeded synthetic Mixtral-8x7B trace;
 *   2. the full timing model (engine, link, GPU stream) on the same trace, streamed in chunks;
 *   3. loading the trace as a `.moesim` file.
 * Next to 1 and 3 it prints a yardstick computed in the same run on the same data (a bare LRU
 * loop over an Int32Array; one pass over the file's bytes), and the ratio: on a shared machine the
 * ratio, not the absolute rate, is what compares two trees.
 * Reports medians over repetitions and memory at several trace lengths (memory must stay flat).
 * A benchmark, not a test: it asserts nothing and timings vary from run to run.
 */
import { performance } from 'node:perf_hooks';
import { modelPresets } from '../model/presets.js';
import { hardwarePresets } from '../hardware/presets.js';
import { numMoeLayers } from '../model/derived.js';
import { ExpertCache, HIT } from '../policies/expert-cache.js';
import { lru } from '../policies/lru.js';
import { createRng } from '../rng/rng.js';
import { SyntheticSource } from '../trace/synthetic.js';
import type { SyntheticSpec } from '../trace/synthetic.js';
import type { TraceStream } from '../trace/stream.js';
import { RooflineCosts } from '../timing/roofline.js';
import { OffloadSim } from '../sim/offload-sim.js';
import { streamingDecodeSteps } from '../trace/stream-steps.js';
import { NO_EXPERT } from '../trace/types.js';
import { readCanonical, writeCanonicalStream } from '../trace/canonical.js';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const model = modelPresets['mixtral-8x7b'];
const L = numMoeLayers(model);
const E = model.numExperts;
const K = model.topK;
const TOKENS = Number(process.env.BENCH_TOKENS ?? 1_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const SEQ_TOKENS = 1000;

function spec(tokens: number): SyntheticSpec {
  return { layers: L, experts: E, topK: K, sequences: Math.ceil(tokens / SEQ_TOKENS), tokensPerSequence: SEQ_TOKENS, popularity: { kind: 'zipf', exponent: 0.8 }, locality: 0.3 };
}

function newCache(): ExpertCache {
  return new ExpertCache(L, E, 4, true, lru({ numLayers: L, numExperts: E, capacityPerScope: 4, scopes: L }));
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The yardstick: LRU with 4 experts per layer written as plainly as C would, a doubly linked list
 * per layer over Int32Arrays, no policy interface, no hooks. Its hits must equal the tree's (the
 * same replacement), so the ratio compares the cost of one decision, not two different ones.
 */
class BareLru {
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly resident: Uint8Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly size: Int32Array;
  constructor(
    scopes: number,
    private readonly perScope: number,
    private readonly capacity: number,
  ) {
    const n = scopes * perScope;
    this.prev = new Int32Array(n).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    this.resident = new Uint8Array(n);
    this.head = new Int32Array(scopes).fill(-1);
    this.tail = new Int32Array(scopes).fill(-1);
    this.size = new Int32Array(scopes);
  }
  /** 1 on a hit, 0 on a miss (admitted, the least recently used evicted). */
  access(key: number): number {
    const s = (key / this.perScope) | 0;
    const prev = this.prev;
    const next = this.next;
    if (this.resident[key] === 1) {
      if (this.head[s] !== key) {
        const p = prev[key];
        const n = next[key];
        next[p] = n;
        if (n >= 0) prev[n] = p;
        else this.tail[s] = p;
        prev[key] = -1;
        next[key] = this.head[s];
        prev[this.head[s]] = key;
        this.head[s] = key;
      }
      return 1;
    }
    if (this.capacity === 0) return 0;
    if (this.size[s] === this.capacity) {
      const v = this.tail[s];
      const p = prev[v];
      this.tail[s] = p;
      if (p >= 0) next[p] = -1;
      else this.head[s] = -1;
      this.resident[v] = 0;
      this.size[s]--;
    }
    this.resident[key] = 1;
    prev[key] = -1;
    next[key] = this.head[s];
    if (this.head[s] >= 0) prev[this.head[s]] = key;
    else this.tail[s] = key;
    this.head[s] = key;
    this.size[s]++;
    return 0;
  }
}

interface ReplayFigures {
  accesses: number;
  treeSec: number;
  bareSec: number;
  treeHits: number;
  bareHits: number;
}

/**
 * Cache replay only (generation excluded): each chunk's keys are laid out once in an Int32Array,
 * then replayed by this tree's ExpertCache + lru and by the yardstick, alternately per chunk so
 * that both see the same machine load.
 */
function cacheReplay(tokens: number): ReplayFigures {
  const src = new SyntheticSource(spec(tokens), createRng('bench').fork('trace'));
  const cache = newCache();
  const bare = new BareLru(L, E, 4);
  const f: ReplayFigures = { accesses: 0, treeSec: 0, bareSec: 0, treeHits: 0, bareHits: 0 };
  let keys = new Int32Array(0);
  for (let c = src.nextChunk(65536); c !== null; c = src.nextChunk(65536)) {
    const ids = c.experts;
    if (keys.length < ids.length) keys = new Int32Array(ids.length);
    let n = 0;
    for (let t = 0, i = 0; t < c.tokens; t++) {
      for (let base = 0; base < L * E; base += E) {
        for (let k = 0; k < K; k++, i++) {
          const e = ids[i];
          if (e !== NO_EXPERT) keys[n++] = base + e;
        }
      }
    }
    let t0 = performance.now();
    let hits = cache.accessMany(keys, 0, n);
    f.treeSec += (performance.now() - t0) / 1e3;
    f.treeHits += hits;
    t0 = performance.now();
    hits = 0;
    for (let i = 0; i < n; i++) hits += bare.access(keys[i]);
    f.bareSec += (performance.now() - t0) / 1e3;
    f.bareHits += hits;
    f.accesses += n;
  }
  return f;
}

/**
 * Loading a `.moesim` file: this tree's reader (trace/canonical.ts: streamed, every field checked)
 * against the yardstick of one pass over the same bytes in memory that parses the expert ids into
 * a Uint16Array and checks nothing. Returns [MB, reader seconds, yardstick seconds].
 */
async function traceLoad(tokens: number): Promise<[number, number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'moesim-bench-'));
  try {
    const file = join(dir, 'bench.moesim');
    const s = spec(tokens);
    await writeCanonicalStream(new SyntheticSource(s, createRng('bench').fork('trace')), file);
    const bytes = statSync(file).size;
    let t0 = performance.now();
    const trace = await readCanonical(file);
    const readerSec = (performance.now() - t0) / 1e3;
    t0 = performance.now();
    const buf = readFileSync(file);
    const out = new Uint16Array(trace.experts.length);
    let n = 0;
    let v = 0;
    let tabs = 0;
    // past the magic, the JSON header and the column header
    let start = 0;
    for (let line = 0; line < 3; line++) start = buf.indexOf(10, start) + 1;
    for (let i = start; i < buf.length; i++) {
      const c = buf[i];
      if (c === 10) {
        if (tabs >= 2) out[n++] = v;
        tabs = 0;
        v = 0;
      } else if (c === 9) tabs++;
      else if (tabs === 2) {
        if (c === 44 || c === 124) {
          out[n++] = v;
          v = 0;
        } else v = v * 10 + (c - 48);
      }
    }
    const bareSec = (performance.now() - t0) / 1e3;
    if (n !== trace.experts.length) throw new Error(`bench: the yardstick parsed ${n} ids, the reader ${trace.experts.length}`);
    return [bytes / 1e6, readerSec, bareSec];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Full timing model on a streamed trace. Returns [accesses, seconds incl. generation, heap MiB
 * after, seconds of those spent generating the trace]. The generator's share is timed around each
 * nextChunk call (a few dozen calls per run), so the simulation's own rate can be printed apart.
 */
function timingModel(tokens: number): [number, number, number, number] {
  const s = spec(tokens);
  const src = new SyntheticSource(s, createRng('bench').fork('trace'));
  let genSec = 0;
  const timed: TraceStream = {
    header: src.header,
    totalTokens: src.totalTokens,
    nextChunk(maxTokens: number) {
      const g0 = performance.now();
      const c = src.nextChunk(maxTokens);
      genSec += (performance.now() - g0) / 1e3;
      return c;
    },
  };
  const { trace, source } = streamingDecodeSteps(timed, s.sequences);
  const cost = new RooflineCosts(model, hardwarePresets['rtx-4090'], { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });
  const t0 = performance.now();
  const counters = new OffloadSim(trace, cost, newCache(), source).run();
  const sec = (performance.now() - t0) / 1e3;
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  return [counters.accesses, sec, mem.heapUsed + mem.arrayBuffers, genSec];
}

async function main(): Promise<void> {
  const gcNote = (globalThis as { gc?: () => void }).gc ? '' : ' (run with --expose-gc for heap figures)';
  console.log(`moesim bench: synthetic Mixtral-8x7B trace (${L} MoE layers, ${E} experts, top-${K}, zipf 0.8, locality 0.3), seed "bench"${gcNote}`);
  console.log(`node ${process.version}, ${REPS} repetitions, medians\n`);

  const tree: number[] = [];
  const yard: number[] = [];
  let acc = 0;
  for (let r = 0; r < REPS; r++) {
    const f = cacheReplay(TOKENS);
    if (f.treeHits !== f.bareHits) throw new Error(`bench: the tree's LRU hit ${f.treeHits} times, the yardstick ${f.bareHits}`);
    acc = f.accesses;
    tree.push(f.accesses / f.treeSec);
    yard.push(f.accesses / f.bareSec);
  }
  const [mt, my] = [median(tree), median(yard)];
  console.log(`cache replay (LRU, 4/layer):  ${TOKENS.toLocaleString('en-US')} tokens, ${acc.toLocaleString('en-US')} accesses: ${(mt / 1e6).toFixed(1)} M accesses/s`);
  console.log(`  yardstick (bare LRU over Int32Array, same hits): ${(my / 1e6).toFixed(1)} M accesses/s; tree/yardstick ${(mt / my).toFixed(2)}`);

  const load: number[] = [];
  const loadYard: number[] = [];
  let mb = 0;
  for (let r = 0; r < REPS; r++) {
    const [m, reader, bare] = await traceLoad(Math.min(TOKENS, 200_000));
    mb = m;
    load.push(m / reader);
    loadYard.push(m / bare);
  }
  const [ml, mly] = [median(load), median(loadYard)];
  console.log(`trace load (.moesim, ${mb.toFixed(1)} MB): ${ml.toFixed(0)} MB/s`);
  console.log(`  yardstick (one pass over the bytes in memory, ids only, no checks): ${mly.toFixed(0)} MB/s; tree/yardstick ${(ml / mly).toFixed(2)}`);

  const timing: number[] = [];
  const simOnly: number[] = [];
  const timingYard: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const [a, sec, , genSec] = timingModel(TOKENS);
    acc = a;
    timing.push(a / sec);
    simOnly.push(a / (sec - genSec));
    // The yardstick again, right after, on a short replay: the same machine load as this repetition.
    const f = cacheReplay(Math.min(TOKENS, 100_000));
    timingYard.push(f.accesses / f.bareSec);
  }
  const [mtm, mso, mty] = [median(timing), median(simOnly), median(timingYard)];
  console.log(`timing model (rtx-4090, int4): ${TOKENS.toLocaleString('en-US')} tokens, ${acc.toLocaleString('en-US')} accesses: ${(mtm / 1e6).toFixed(2)} M accesses/s (trace generation included)`);
  console.log(`  without the trace generator's time (timed around its nextChunk calls): ${(mso / 1e6).toFixed(2)} M accesses/s`);
  console.log(`  yardstick (bare LRU, measured after each repetition): ${(mty / 1e6).toFixed(1)} M accesses/s; tree/yardstick ${(mtm / mty).toFixed(3)} (generation included), ${(mso / mty).toFixed(3)} (without)`);

  console.log('\nmemory as the trace grows (timing model, JS heap + typed-array buffers after the run while its counters are live, and peak RSS so far):');
  for (const f of [0.125, 0.25, 0.5, 1]) {
    const n = Math.round(TOKENS * f);
    const [, , heap] = timingModel(n);
    console.log(`  ${n.toLocaleString('en-US').padStart(10)} tokens: heap+buffers ${mib(heap)} MiB, rss peak ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
  }
}

await main();
