/**
 * `npm run bench`: how many expert accesses moesim simulates per second, on one core.
 *   1. cache replay: LRU, 4 experts per layer, on a seeded synthetic Mixtral-8x7B trace;
 *   2. the full timing model (engine, link, GPU stream) on the same trace, streamed in chunks.
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
import { RooflineCosts } from '../timing/roofline.js';
import { OffloadSim } from '../sim/offload-sim.js';
import { streamingDecodeSteps } from '../trace/stream-steps.js';
import { NO_EXPERT } from '../trace/types.js';

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

/** Cache replay only; generation time is excluded. Returns [accesses, seconds, hits]. */
function cacheReplay(tokens: number): [number, number, number] {
  const src = new SyntheticSource(spec(tokens), createRng('bench').fork('trace'));
  const cache = new ExpertCache(L, E, 4, true, lru({ numLayers: L, numExperts: E, capacityPerScope: 4, scopes: L }));
  let accesses = 0;
  let hits = 0;
  let sec = 0;
  for (let c = src.nextChunk(65536); c !== null; c = src.nextChunk(65536)) {
    const ids = c.experts;
    const t0 = performance.now();
    for (let t = 0, i = 0; t < c.tokens; t++) {
      for (let base = 0; base < L * E; base += E) {
        for (let k = 0; k < K; k++, i++) {
          const e = ids[i];
          if (e === NO_EXPERT) continue;
          if (cache.access(base + e) === HIT) hits++;
          accesses++;
        }
      }
    }
    sec += (performance.now() - t0) / 1e3;
  }
  return [accesses, sec, hits];
}

/** Full timing model on a streamed trace. Returns [accesses, seconds incl. generation, heap MiB after]. */
function timingModel(tokens: number): [number, number, number] {
  const s = spec(tokens);
  const src = new SyntheticSource(s, createRng('bench').fork('trace'));
  const { trace, source } = streamingDecodeSteps(src, s.sequences);
  const cost = new RooflineCosts(model, hardwarePresets['rtx-4090'], { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });
  const t0 = performance.now();
  const counters = new OffloadSim(trace, cost, newCache(), source).run();
  const sec = (performance.now() - t0) / 1e3;
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  return [counters.accesses, sec, mem.heapUsed + mem.arrayBuffers];
}

function main(): void {
  const gcNote = (globalThis as { gc?: () => void }).gc ? '' : ' (run with --expose-gc for heap figures)';
  console.log(`moesim bench: synthetic Mixtral-8x7B trace (${L} MoE layers, ${E} experts, top-${K}, zipf 0.8, locality 0.3), seed "bench"${gcNote}`);
  console.log(`node ${process.version}, ${REPS} repetitions, medians\n`);

  const replay: number[] = [];
  let acc = 0;
  for (let r = 0; r < REPS; r++) {
    const [a, sec] = cacheReplay(TOKENS);
    acc = a;
    replay.push(a / sec);
  }
  console.log(`cache replay (LRU, 4/layer):  ${TOKENS.toLocaleString('en-US')} tokens, ${acc.toLocaleString('en-US')} accesses: ${(median(replay) / 1e6).toFixed(1)} M accesses/s`);

  const timing: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const [a, sec] = timingModel(TOKENS);
    acc = a;
    timing.push(a / sec);
  }
  console.log(`timing model (rtx-4090, int4): ${TOKENS.toLocaleString('en-US')} tokens, ${acc.toLocaleString('en-US')} accesses: ${(median(timing) / 1e6).toFixed(2)} M accesses/s`);

  console.log('\nmemory as the trace grows (timing model, JS heap + typed-array buffers after the run while its counters are live, and peak RSS so far):');
  for (const f of [0.125, 0.25, 0.5, 1]) {
    const n = Math.round(TOKENS * f);
    const [, , heap] = timingModel(n);
    console.log(`  ${n.toLocaleString('en-US').padStart(10)} tokens: heap+buffers ${mib(heap)} MiB, rss peak ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
  }
}

main();
