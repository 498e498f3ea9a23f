import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { ACC_HOOK_OPS_PER_TENSOR, ACC_HOOK_SYNCS_PER_TENSOR, expandSystem, SPECULATIVE_RECALL, systemKinds, systemSemantics, systems } from '../../src/systems/catalog.js';
import { modelPresets } from '../../src/model/presets.js';
import { InputError } from '../../src/util/errors.js';
import { SemanticCostModel, cpuPresets, hookPerTensorSec, runtimes } from '../../src/timing/execution-semantics.js';
import { prepareScenario } from '../../src/sim/run.js';
import { cgoPipeSchedule, cgoStageCosts } from '../../src/timing/cgopipe.js';

const synthetic = { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 12, popularity: { kind: 'zipf', exponent: 1.0 }, locality: 0.3, affinity: 0.2 } };
const base = { name: 't', seed: 1, model: 'mixtral-8x7b', hardware: 'rtx-4090', trace: synthetic };

describe('systems catalog', () => {
  it('covers the systems of issue 12 and each names its sources, what it models and what it simplifies', () => {
    for (const k of ['mixtral-offloading', 'moe-infinity', 'fiddler', 'llama-cpp', 'ktransformers', 'deepspeed-zero-inference', 'vllm-cpu-offload', 'accelerate', 'pregated-moe', 'expertflow', 'hobbit', 'moe-lightning']) {
      expect(systemKinds).toContain(k);
    }
    for (const k of systemKinds) {
      const s = systems[k];
      expect(s.sources.length).toBeGreaterThan(0);
      expect(s.models.length).toBeGreaterThan(0);
      expect(s.simplifies.length).toBeGreaterThan(0);
    }
  });

  it('system: gives the policies and precision of the system; an explicit field wins', () => {
    const s = parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayer: 4, quantization: 'hqq-2bit' } });
    expect(s.policies.map((p) => p.kind)).toEqual(['lru', 'lru']);
    expect(s.policies[0]).toMatchObject({ cache: { perLayer: 4 } });
    expect(s.policies[1]).toMatchObject({ prefetch: { kind: 'speculative', lookahead: 1 }, predictor: { kind: 'oracle', precision: SPECULATIVE_RECALL, recall: SPECULATIVE_RECALL } });
    // HQQ as the demo configures it: 2-bit experts at group 16, 4-bit attention at group 64 (src/model/formats.ts).
    expect(s.precision).toEqual({ experts: { format: 'hqq-2bit-g16' }, dense: { format: 'hqq-4bit-g64' }, kvCache: 'bf16', groupSize: 16 });
    const own = parseScenario({ ...base, system: { kind: 'mixtral-offloading' }, policies: [{ kind: 'none' }], precision: { dense: 'fp16' } });
    expect(own.policies.map((p) => p.kind)).toEqual(['none']);
    expect(own.precision.dense).toBe('fp16');
    expect(own.precision.experts).toEqual({ format: 'hqq-2bit-g16' });
  });

  it('offloadPerLayer above the model\'s experts per layer is no configuration (s28-badin: was a cache of 0)', () => {
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayer: 9 } }, 's.yaml')).toThrow(/^s\.yaml: system\.offloadPerLayer: expected at most the model's 8 experts per layer \(mixtral-8x7b\), got 9$/);
    expect(parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayer: 8 } }).policies[0]).toMatchObject({ cache: { perLayer: 0 } });
  });

  it('the system block is strict and its errors name system.<field>', () => {
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayr: 4 } })).toThrow(/system: unknown field "offloadPerLayr"/);
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayer: -1 } })).toThrow(/system\.offloadPerLayer: /);
    expect(() => parseScenario({ ...base, system: { kind: 'nope' } })).toThrow(InputError);
  });

  it('llama.cpp --n-cpu-moe N: the first N layers\' experts are off the GPU and run on the CPU below a batch of 32', () => {
    const s = parseScenario({ ...base, system: { kind: 'llama-cpp', nCpuMoe: 30 } });
    const p = s.policies[0];
    expect(p).toMatchObject({ kind: 'static', cache: { experts: 16 }, onMiss: { kind: 'cpu', belowTokens: 32 } });
    const profile = (p as { profile: number[][] }).profile;
    expect(profile.slice(0, 30).flat().every((x) => x === 0)).toBe(true);
    expect(profile.slice(30).flat().every((x) => x === 1)).toBe(true);
  });

  it('llama.cpp --n-cpu-moe N counts blocks (common/arg.cpp: blk.<i>.ffn_*_exps for i < N): DeepSeek-V2-Lite\'s dense block 0 is one of them', () => {
    const m = modelPresets['deepseek-v2-lite'];
    const pol = systems['llama-cpp'].expand({ kind: 'llama-cpp', nCpuMoe: 16, ngl: 99, quantization: 'gguf-q4_k_m' }, m).policies[0] as { profile: number[][]; cache: { experts: number } };
    // MoE layers are blocks 1..26: blocks 1..15 keep their experts on the CPU, 16..26 on the GPU
    expect(pol.profile.map((r) => r[0])).toEqual([...Array(15).fill(0), ...Array(11).fill(1)]);
    expect(pol.cache.experts).toBe(11 * 64);
  });

  it('every system runs end to end, with its semantics in the costs', async () => {
    for (const k of systemKinds) {
      const extra = k === 'vllm-cpu-offload' ? { cpuOffloadGiB: 20 } : k === 'accelerate' ? { gpuLayers: 4 } : k === 'llama-cpp' ? { nCpuMoe: 8 } : {};
      // Issue 16 checks host DRAM: a 16-bit Mixtral's 84 GiB of experts need more than the 7950X preset's 64 GiB.
      const hardware = k === 'vllm-cpu-offload' || k === 'expertflow' ? 'a100-80gb' : { preset: 'rtx-4090', cpu: { memoryGiB: 128 } };
      const scenario = parseScenario({ ...base, hardware, system: { kind: k, ...extra } });
      const prep = await prepareScenario(scenario, { baseDir: '.' });
      expect(prep.cost).toBeInstanceOf(SemanticCostModel);
      const r = await runScenario(scenario, { baseDir: '.' });
      for (const res of r.results) expect(res.metrics.tpotMs).toBeGreaterThan(0);
    }
  }, 60_000);

  it('mixtral-offloading\'s semantics make it slower than the bare roofline of the same policy', async () => {
    const withSystem = parseScenario({ ...base, system: { kind: 'mixtral-offloading', speculative: false } });
    const bare = parseScenario({ ...base, precision: withSystem.precision, policies: withSystem.policies });
    const a = (await runScenario(withSystem, { baseDir: '.' })).results[0].metrics;
    const b = (await runScenario(bare, { baseDir: '.' })).results[0].metrics;
    expect(a.hits).toBe(b.hits);
    expect(a.tpotMs).toBeGreaterThan(b.tpotMs);
  });

  it("mixtral-offloading's fused Triton path dequantises each group's scale and zero: 8 / group bytes per weight, and the experts take the format's storage", () => {
    const m = modelPresets['mixtral-8x7b'];
    const fmt = (quantization: 'hqq-2bit' | 'hqq-3bit') => systemSemantics({ kind: 'mixtral-offloading', offloadPerLayer: 4, quantization, speculative: false }, m).expertFormat!;
    expect(fmt('hqq-2bit').dequantBytesPerParam).toBe(0.5);
    expect(fmt('hqq-3bit').dequantBytesPerParam).toBe(0.125);
    expect(fmt('hqq-3bit').dtype).toBe('int3');
    expect(expandSystem({ kind: 'mixtral-offloading', offloadPerLayer: 4, quantization: 'hqq-3bit', speculative: false }, m).precision).toEqual({
      experts: { format: 'hqq-3bit-g64' },
      dense: { format: 'hqq-4bit-g64' },
      kvCache: 'bf16',
      groupSize: 64,
    });
  });

  it('mixtral-offloading writes evicted experts back by default (the published _swap); writeBack: false drops only that copy', async () => {
    const m = modelPresets['mixtral-8x7b'];
    expect(systemSemantics({ kind: 'mixtral-offloading', offloadPerLayer: 6, quantization: 'hqq-2bit', speculative: false }, m).writeBackEvicted).toBe(true);
    expect(systemSemantics({ kind: 'mixtral-offloading', offloadPerLayer: 6, quantization: 'hqq-2bit', speculative: false, writeBack: false }, m).writeBackEvicted).toBe(false);
    const run = async (writeBack?: boolean) =>
      (await runScenario(parseScenario({ ...base, system: { kind: 'mixtral-offloading', offloadPerLayer: 6, speculative: false, ...(writeBack === undefined ? {} : { writeBack }) } }), { baseDir: '.' })).results[0].metrics;
    const dflt = await run();
    const wb = await run(true);
    const none = await run(false);
    expect(wb).toEqual(dflt);
    expect(none.hits).toBe(wb.hits);
    expect(none.misses).toBeGreaterThan(0);
    expect(none.tpotMs).toBeLessThan(wb.tpotMs);
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', writeBack: 'no' } })).toThrow(/system\.writeBack/);
  });

  it('kTransformers v0.2: one CPU task per layer, the decode graph\'s nodes as GPU time; Fiddler: the CPU below 10 tokens with its eager bf16 CPU preset', () => {
    const m = modelPresets['mixtral-8x7b'];
    const kt = systemSemantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, m);
    expect(kt.cpuTaskPerLayer).toBe(true);
    expect(kt.hostThread).toBe(false);
    expect(kt.runtime.name).toBe('ktransformers-graph');
    const fid = systemSemantics({ kind: 'fiddler', reserveGiB: 1.2 }, m);
    expect(fid.cpu).toBe(cpuPresets['pytorch-bf16-cpu']);
    expect(fid.cpuTaskPerLayer).toBeUndefined();
    const pol = expandSystem({ kind: 'fiddler', reserveGiB: 1.2 }, m).policies[0];
    expect(pol).toMatchObject({ kind: 'static', onMiss: { kind: 'cpu', belowTokens: 10 } });
  });

  it('Accelerate: pageable, blocking (no host thread ahead of the copies), 3 copy calls per expert with the hook\'s 6 ops and 2 empty_cache syncs each; callsEveryExpert streams whole layers', async () => {
    const m = modelPresets['mixtral-8x7b'];
    const acc = systemSemantics({ kind: 'accelerate', gpuLayers: 8, quantization: 'bf16', callsEveryExpert: false }, m);
    expect(acc.link.memory).toBe('pageable');
    expect(acc.hostThread).toBe(false);
    expect(acc.expertCopies).toBe('compute-stream');
    expect(acc.tensorsPerExpertTransfer).toBe(3);
    expect(acc.hookPerTensor).toEqual({ ops: ACC_HOOK_OPS_PER_TENSOR, syncs: ACC_HOOK_SYNCS_PER_TENSOR });
    expect(acc.runtime).toBe(runtimes['eager-pytorch']);
    expect(hookPerTensorSec(acc)).toBeCloseTo(100e-6, 15);
    expect(acc.streamedDenseLayers).toEqual(Array.from({ length: 24 }, (_, i) => 8 + i));
    expect(acc.streamAllExpertsOfStreamedLayers).toBe(false);
    expect(expandSystem({ kind: 'accelerate', gpuLayers: 8, quantization: 'bf16', callsEveryExpert: false }, m).policies[0]).toMatchObject({ kind: 'static', cache: { experts: 64 } });
    const all = systemSemantics({ kind: 'accelerate', gpuLayers: 8, quantization: 'bf16', callsEveryExpert: true }, m);
    expect(all.streamAllExpertsOfStreamedLayers).toBe(true);
    expect(all.emptyExpertCallsPerLayer).toBe(6);
    expect(expandSystem({ kind: 'accelerate', gpuLayers: 8, quantization: 'bf16', callsEveryExpert: true }, m).policies[0]).toMatchObject({ kind: 'all-on-gpu' });
    // Whole layers move 4x the routed bytes (8 of 8 experts against 2): slower on the same budget.
    const hardware = { preset: 'rtx-4090', cpu: { memoryGiB: 128 } };
    const tpot = async (callsEveryExpert: boolean) =>
      (await runScenario(parseScenario({ ...base, hardware, system: { kind: 'accelerate', gpuLayers: 4, callsEveryExpert } }), { baseDir: '.' })).results[0].metrics.tpotMs;
    const routed = await tpot(false);
    const whole = await tpot(true);
    expect(whole).toBeGreaterThan(2.5 * routed);
  });

  it('kTransformers computes every routed expert on the CPU; no expert weight crosses the link', async () => {
    const r = await runScenario(parseScenario({ ...base, system: { kind: 'ktransformers' } }), { baseDir: '.' });
    const m = r.results[0].metrics;
    expect(m.onMiss.cpuShare).toBe(1);
    expect(m.bytesH2D).toBeLessThan(modelPresets['mixtral-8x7b'].hiddenSize * 2 * 1e6);
  });

  it('execution: overrides one parameter at a time; pageable memory and the compute stream each slow the same policy', async () => {
    const policies = [{ kind: 'lru', cache: { perLayer: 4 } }];
    const run = async (execution?: Record<string, unknown>) =>
      (await runScenario(parseScenario({ ...base, policies, precision: { experts: 'int4' }, ...(execution ? { execution } : {}) }), { baseDir: '.' })).results[0].metrics;
    const bare = await run();
    const eager = await run({});
    const pageable = await run({ memory: 'pageable' });
    const stream = await run({ expertCopies: 'compute-stream' });
    const wb = await run({ expertCopies: 'compute-stream', writeBackEvicted: true });
    for (const m of [eager, pageable, stream, wb]) expect(m.hits).toBe(bare.hits);
    expect(eager.tpotMs).toBeGreaterThan(bare.tpotMs);
    expect(pageable.tpotMs).toBeGreaterThan(eager.tpotMs);
    expect(stream.tpotMs).toBeGreaterThan(eager.tpotMs);
    expect(wb.tpotMs).toBeGreaterThan(stream.tpotMs);
    expect(() => parseScenario({ ...base, policies, execution: { memory: 'paged' } })).toThrow(/execution\.memory/);
  });

  it('moe-infinity: the dispatcher (since Feb 2025) is LFU without prefetch on its own runtime; hooks (2024) prefetch every positive activation-matrix entry of later layers', async () => {
    const m = modelPresets['mixtral-8x7b'];
    const mi = systems['moe-infinity'];
    const d = mi.expand({ kind: 'moe-infinity', reserveGiB: 3.6, dispatch: 'dispatcher' }, m).policies[0];
    expect(d).toEqual({ kind: 'lfu', label: 'moe-infinity', cache: { hbm: true, reserveGiB: 3.6 } });
    expect(mi.semantics({ kind: 'moe-infinity', reserveGiB: 1, dispatch: 'dispatcher' }, m).runtime.name).toBe('moe-infinity-dispatcher');
    const h = mi.expand({ kind: 'moe-infinity', reserveGiB: 6, dispatch: 'hooks' }, m).policies[0];
    expect(h).toMatchObject({ kind: 'lru', prefetch: { kind: 'moe-infinity', experts: 8 }, predictor: { kind: 'activation-matrix' } });
    expect(mi.semantics({ kind: 'moe-infinity', reserveGiB: 1, dispatch: 'hooks' }, m).runtime.name).toBe('eager-pytorch');
    // prefetch: true turns it on for the dispatcher too.
    expect(mi.expand({ kind: 'moe-infinity', reserveGiB: 1, dispatch: 'dispatcher', prefetch: true }, m).policies[0]).toMatchObject({ kind: 'lfu', prefetch: { kind: 'moe-infinity' } });
    // Timeline: the same LFU cache, with and without the dispatcher's per-expert waits; a larger reserve is a smaller cache.
    const sc = (system: object) => ({ ...base, hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 128 } }, system });
    const run = async (system: object, execution?: object) =>
      (await runScenario(parseScenario({ ...sc(system), ...(execution ? { execution } : {}) }), { baseDir: '.' })).results[0].metrics;
    const disp = await run({ kind: 'moe-infinity', reserveGiB: 2 });
    const eager = await run({ kind: 'moe-infinity', reserveGiB: 2 }, { runtime: 'eager-pytorch' });
    expect(disp.hits).toBe(eager.hits);
    expect(disp.tpotMs).toBeGreaterThan(eager.tpotMs);
    const small = await run({ kind: 'moe-infinity', reserveGiB: 8 });
    expect(small.cacheCapacityExperts).toBeLessThan(disp.cacheCapacityExperts);
  });

  it('deepspeed-zero-inference: pageable by default (pin_memory false), no prefetch (compute stream), every layer, embeddings and head streamed; callsEveryExpert gathers every expert of every layer', async () => {
    const m = modelPresets['mixtral-8x7b'];
    const spec = (o: { pinMemory?: boolean; callsEveryExpert?: boolean; leafMoeBlock?: boolean } = {}) => ({ kind: 'deepspeed-zero-inference' as const, quantization: 'bf16' as const, pinMemory: false, callsEveryExpert: false, leafMoeBlock: false, ...o });
    const d = systems['deepspeed-zero-inference'].semantics(spec(), m);
    expect(d.link.memory).toBe('pageable');
    expect(d.expertCopies).toBe('compute-stream');
    expect(d.streamedDenseLayers).toEqual([...Array(32).keys()]);
    expect(d.streamEmbeddingsAndHead).toBe(true);
    expect(d.streamAllExpertsOfStreamedLayers).toBe(false);
    expect(systems['deepspeed-zero-inference'].semantics(spec({ pinMemory: true }), m).link.memory).toBe('pinned');
    expect(systems['deepspeed-zero-inference'].expand(spec(), m).policies[0]).toMatchObject({ kind: 'none' });
    const every = spec({ callsEveryExpert: true });
    expect(systems['deepspeed-zero-inference'].semantics(every, m).streamAllExpertsOfStreamedLayers).toBe(true);
    expect(systems['deepspeed-zero-inference'].semantics(every, m).emptyExpertCallsPerLayer).toBe(6);
    expect(d.emptyExpertCallsPerLayer).toBe(0);
    // Pageable uploads block the host thread: launches in line; pinned keeps the host thread.
    expect(d.hostThread).toBe(false);
    expect(systems['deepspeed-zero-inference'].semantics(spec({ pinMemory: true }), m).hostThread).toBe(true);
    expect(systems['deepspeed-zero-inference'].expand(every, m).policies[0]).toMatchObject({ kind: 'all-on-gpu' });
    // Timeline: gathering all 8 experts of each layer costs more than the 2 routed ones; pinned is faster than pageable.
    const sc = (o: object) => ({ ...base, hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 128 } }, precision: { experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 }, system: { kind: 'deepspeed-zero-inference', ...o } });
    const run = async (o: object) => (await runScenario(parseScenario(sc(o)), { baseDir: '.' })).results[0].metrics;
    const [routed, all, pinned] = [await run({}), await run({ callsEveryExpert: true }), await run({ pinMemory: true })];
    expect(all.tpotMs).toBeGreaterThan(2.5 * routed.tpotMs);
    expect(pinned.tpotMs).toBeLessThan(routed.tpotMs);
    expect(routed.misses).toBeGreaterThan(0);
    expect(all.misses).toBe(0);
    // A leaf MoE block (set_z3_leaf_modules) gathers every expert but calls only the routed ones:
    // all experts stream with the layer, no empty calls on the host.
    const leaf = spec({ leafMoeBlock: true });
    expect(systems['deepspeed-zero-inference'].semantics(leaf, m).streamAllExpertsOfStreamedLayers).toBe(true);
    expect(systems['deepspeed-zero-inference'].semantics(leaf, m).emptyExpertCallsPerLayer).toBe(0);
    expect(systems['deepspeed-zero-inference'].expand(leaf, m).policies[0]).toMatchObject({ kind: 'all-on-gpu' });
    const leafRun = await run({ leafMoeBlock: true });
    expect(leafRun.tpotMs).toBeGreaterThan(2.5 * routed.tpotMs);
    expect(leafRun.misses).toBe(0);
    // Same bytes as calling every expert, without the 6 empty calls' host ops per layer.
    expect(leafRun.tpotMs).toBeLessThan(all.tpotMs);
    // ZeRO-3 hooks counted from the code: 4 per module, a .to() and a release per fetched parameter,
    // event + wait_stream + a synchronize per fetch. Without a leaf an expert call is 44 ops and 4 waits;
    // as a leaf the block's one fetch of its 3 x 8 expert parameters moves to the layer.
    const rt = d.runtime;
    expect([rt.kernelsPerLayer, rt.kernelsPerExpert, rt.syncsPerExpert]).toEqual([92, 44, 4]);
    const lr = systems['deepspeed-zero-inference'].semantics(leaf, m).runtime;
    expect([lr.kernelsPerLayer, lr.kernelsPerExpert, lr.syncsPerExpert]).toEqual([92 - 4 + 2 * 24 + 5, 9, 1]);
    expect(lr.perKernelSec).toBe(rt.perKernelSec);
  });

  it('vllm-cpu-offload with uva reads only the routed experts of its offloaded layers; the copy path moves every expert of them', async () => {
    // 70 GiB offloaded needs more host DRAM than the 7950X preset's 64 GiB (issue 16 checks it).
    const sys = (uva: boolean) => ({ ...base, hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 128 } }, system: { kind: 'vllm-cpu-offload', cpuOffloadGiB: 70, uva } });
    const uvaScenario = parseScenario(sys(true));
    const p = uvaScenario.policies[0] as { kind: string; profile: number[][] };
    expect(p.kind).toBe('static');
    // 70 GiB over bf16 Mixtral layers of about 2.7 GiB: 26 layers on the host (the partly offloaded one counted).
    const offloaded = p.profile.filter((row) => row.every((x) => x === 0)).length;
    expect(offloaded).toBe(26);
    expect(p.profile.slice(offloaded).every((row) => row.every((x) => x === 1))).toBe(true);
    const run = async (uva: boolean) => (await runScenario(parseScenario(sys(uva)), { baseDir: '.' })).results[0].metrics;
    const [copy, inPlace] = [await run(false), await run(true)];
    // The copy path has no misses (all-on-gpu) and streams whole layers; UVA misses in the offloaded layers only.
    expect(copy.misses).toBe(0);
    expect(inPlace.misses).toBeGreaterThan(0);
    expect(inPlace.tpotMs).toBeLessThan(copy.tpotMs);
  });

  it('vllm-cpu-offload: UVA reads the host\'s pages in place (link memory mapped, zero-copy); the V0 copy path copies pinned pages', () => {
    const m = modelPresets['mixtral-8x7b'];
    const uva = systemSemantics({ kind: 'vllm-cpu-offload', cpuOffloadGiB: 70, uva: true, quantization: 'bf16' }, m);
    const copy = systemSemantics({ kind: 'vllm-cpu-offload', cpuOffloadGiB: 70, uva: false, quantization: 'bf16' }, m);
    expect(uva.link.memory).toBe('mapped');
    expect(uva.link.perTransferSec.mapped).toBe(0);
    expect(uva.streamAllExpertsOfStreamedLayers).toBe(false);
    expect(copy.link.memory).toBe('pinned');
    expect(copy.streamAllExpertsOfStreamedLayers).toBe(true);
    // the copy path streams only whole offloaded layers (26 of 70 GiB / 2.7 GiB); UVA counts the partly offloaded one too
    expect(copy.streamedDenseLayers).toHaveLength(25);
    expect(uva.streamedDenseLayers).toHaveLength(26);
  });
});

describe('moe-lightning (CGOPipe)', () => {
  const t4 = { preset: 't4', cpu: { memoryGiB: 192, bandwidthGBps: 107.37, gflops: 800 } };
  const fp16 = { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 };

  it('expands to every expert used (whole layers paged), with the CGOPipe policy in its semantics; the block is strict', () => {
    const s = parseScenario({ ...base, hardware: t4, system: { kind: 'moe-lightning', microBatches: 2 } });
    expect(s.policies.map((p) => p.kind)).toEqual(['all-on-gpu']);
    const sem = systemSemantics({ kind: 'moe-lightning', microBatches: 2, quantization: 'bf16' }, modelPresets['mixtral-8x7b']);
    expect(sem.cgoPipe).toEqual({ microBatches: 2 });
    expect(sem.hostThread).toBe(false);
    expect(sem.cpu).toBe(cpuPresets['fastmoe-cpu-attention']);
    expect(() => parseScenario({ ...base, system: { kind: 'moe-lightning', microBatches: 0 } })).toThrow(/system\.microBatches: /);
    expect(() => parseScenario({ ...base, system: { kind: 'moe-lightning', gpuWeightFraction: 1.5 } })).toThrow(/system\.gpuWeightFraction: /);
  });

  it('each MoE layer costs the pipeline makespan / L for the step; the FFN is inside it, the KV cache on the host', async () => {
    const scenario = parseScenario({ ...base, hardware: t4, precision: fp16, workload: { batchSize: 4 }, system: { kind: 'moe-lightning', microBatches: 2, gpuWeightFraction: 0 } });
    const prep = await prepareScenario(scenario, { baseDir: '.' });
    const cost = prep.cost as SemanticCostModel;
    const m = modelPresets['mixtral-8x7b'];
    // 4 decode tokens whose contexts sum to 40: two micro-batches of 2 tokens and 20 context tokens
    const c = cgoStageCosts(m, cost.hardware, cost.precision, 2, 20, { microBatches: 2, gpuWeightFraction: 0 });
    const layer = cgoPipeSchedule(32, 2, c).makespanSec / 32;
    expect(cost.preExpertSec(0, 4, 40, 40)).toBe(layer);
    expect(cost.preExpertSec(31, 4, 40, 40)).toBe(layer);
    expect(cost.expertSec(5)).toBe(0);
    expect(cost.kvBytesPerToken).toBe(0);
    // gpuWeightFraction 0: every layer's 8 experts (8 x 3 x 4096 x 14336 x 2 B) cross PCIe each step, in 2 pages
    expect(c.pageSec).toBeCloseTo(cost.hardware.link.latencySec + (8 * 3 * 4096 * 14336 * 2) / 2 / cost.hardware.link.h2dBytesPerSec, 9);
    // at this batch the pages bound the layer: the makespan is at least L layers of pages
    expect(layer).toBeGreaterThanOrEqual(2 * c.pageSec);
  });
});

describe('llama-cpp -ngl (llama.cpp@a5410f0 load_tensors: i_gpu_start = max(n_layer - ngl, 0), act = min(ngl, n_layer + 1))', () => {
  const m = modelPresets['mixtral-8x7b'];
  const spec = (ngl: number | undefined) => ({ kind: 'llama-cpp' as const, nCpuMoe: 0, quantization: 'gguf-q4_k' as const, ...(ngl === undefined ? {} : { ngl }) });
  it('-ngl 28 of 32 blocks: blocks 0-3 and their experts on the CPU, and the output layer (slot 32 - i_gpu_start 4 = 28 >= act 28)', () => {
    const sem = systems['llama-cpp'].semantics(spec(28), m);
    expect(sem.cpuResidentLayers).toEqual([0, 1, 2, 3]);
    expect(sem.cpuResidentTail).toBe(true);
    const pol = systems['llama-cpp'].expand(spec(28), m).policies[0] as { profile: number[][]; cache: { experts: number } };
    expect(pol.profile.map((r) => r[0])).toEqual([...Array(4).fill(0), ...Array(28).fill(1)]);
    expect(pol.cache.experts).toBe(28 * 8);
  });
  it('-ngl 32: every block on the GPU, the output on the CPU; 33: all on the GPU; 0: all on the CPU; absent: all on the GPU', () => {
    expect(systems['llama-cpp'].semantics(spec(32), m)).toMatchObject({ cpuResidentLayers: [], cpuResidentTail: true });
    expect(systems['llama-cpp'].semantics(spec(33), m)).toMatchObject({ cpuResidentLayers: [], cpuResidentTail: false });
    expect(systems['llama-cpp'].semantics(spec(0), m)).toMatchObject({ cpuResidentLayers: [...Array(32).keys()], cpuResidentTail: true });
    expect(systems['llama-cpp'].semantics(spec(undefined), m)).toMatchObject({ cpuResidentLayers: [], cpuResidentTail: false });
  });
  it('without --numa: weights in one node, threads on every socket (each mat-vec waits for the remote half: 0.5)', () => {
    expect(systems['llama-cpp'].semantics(spec(0), m)).toMatchObject({ cpuWeightsOnOneNode: true, cpuThreadsAcrossSocketsFraction: 0.5 });
    // kTransformers keeps a copy per node (USE_NUMA): neither
    const kt = systems.ktransformers.semantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, modelPresets['deepseek-v3']);
    expect(kt.cpuWeightsOnOneNode).toBeFalsy();
    expect(kt.cpuThreadsAcrossSocketsFraction).toBeUndefined();
  });
});
