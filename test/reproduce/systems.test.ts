/**
 * issue12c: how each published point becomes a real system preset, and the per-runtime fit protocol.
 * The rules are checked on named points so a changed rule (or a point silently falling back to a
 * default) fails here.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { ENCODER_FIRST, HF_MOE_LOOP, MOEINF_POINT_RUNS, systemTable, systemRows, VLLM_RUNS } from '../../src/reproduce/systems.js';
import { perKernelCost, pointScenario, reproduce, simulatePoint, suiteBaseDir, type FittedParameter } from '../../src/reproduce/run.js';
import { systems as catalog } from '../../src/systems/catalog.js';
import { ROOT } from '../helpers/cli.js';
import { modelPresets } from '../../src/model/presets.js';
import { expertParams, numMoeLayers, totalParams } from '../../src/model/derived.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { linkPresets } from '../../src/timing/execution-semantics.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);
const byId = (id: string) => suite.points.find((p) => p.id === id)!;
const sys = (id: string) => pointScenario(byId(id), { suite, baseDir: suiteBaseDir(FILE) }).system as Record<string, unknown>;
const policy = (id: string) => (pointScenario(byId(id), { suite, baseDir: suiteBaseDir(FILE) }).policies as Record<string, unknown>[])[0];

test('every system of the suite has a catalog preset (no stand-in policy left)', () => {
  for (const s of new Set(suite.points.map((p) => p.system))) {
    expect(systemTable[s], s).toBeDefined();
    expect(catalog[systemTable[s].preset], s).toBeDefined();
  }
  const rows = systemRows();
  expect(rows['ollama'].preset).toBe('llama-cpp');
  expect(rows['hf-accelerate'].preset).toBe('accelerate');
  expect(rows['mixtral-offloading'].missing.length).toBeGreaterThan(10);
});

test('mixtral-offloading points: offloaded experts = 8 - the stated cache, format and speculation per variant', () => {
  expect(sys('mo-t2-2bit-a100-80gb-full')).toMatchObject({ kind: 'mixtral-offloading', offloadPerLayer: 4, quantization: 'hqq-2bit', speculative: true });
  expect(policy('mo-t2-2bit-a100-80gb-full').prefetch).toMatchObject({ kind: 'speculative' });
  expect(sys('mo-t2-2bit-rtx-3060-lru')).toMatchObject({ offloadPerLayer: 6, speculative: false });
  expect(policy('mo-t2-2bit-rtx-3060-lru').prefetch).toBeUndefined();
  expect(sys('mo-t2-3bit-t4-on-demand')).toMatchObject({ offloadPerLayer: 8, quantization: 'hqq-3bit', speculative: false });
  expect(policy('mo-t2-3bit-t4-on-demand').cache).toEqual({ perLayer: 0 });
});

test('the MoE-Infinity README\'s mixtral-offloading cell runs the repository of its time: the demo\'s cache, no speculative loading', () => {
  // dvmazur/mixtral-offloading@ce54518 (master before the 2024-02-27 cell): README lists speculative
  // prefetching as work in progress; load_experts swaps in only the routed experts after the gate.
  const p = byId('mi-readme-mixtral-8x7b-mixtral-offloading');
  expect(p.variant).toBe('lru');
  expect(sys(p.id)).toMatchObject({ kind: 'mixtral-offloading', offloadPerLayer: 4, quantization: 'hqq-2bit', speculative: false });
  expect(policy(p.id).prefetch).toBeUndefined();
  expect(policy(p.id).cache).toEqual({ perLayer: 4 });
});

test('capacity rules: accelerate layers, llama.cpp and Ollama -ngl, vLLM offload GiB, kTransformers format', () => {
  // Table 2 naive: the mixtral-offloading budget of its row, 32 layers x 4/8
  expect(sys('mo-t2-2bit-t4-naive')).toMatchObject({ kind: 'accelerate', gpuLayers: 16, quantization: 'hqq-2bit' });
  expect(sys('mo-t2-2bit-rtx-3060-naive')).toMatchObject({ gpuLayers: 8 });
  // Table 2's naive baseline streams its offloaded layers whole (MO_T2_NAIVE); the README's follow the model's HF loop (Mixtral and DeepSeek-V2: routed only).
  expect(sys('mo-t2-3bit-a100-80gb-naive')).toMatchObject({ callsEveryExpert: true });
  expect(sys('mi-readme-mixtral-8x7b-hf-accelerate')).toMatchObject({ callsEveryExpert: false });
  expect(sys('mi-readme-deepseek-v2-lite-hf-accelerate')).toMatchObject({ callsEveryExpert: false });
  expect(policy('mo-t2-3bit-a100-80gb-naive').kind).toBe('all-on-gpu');
  // fp32 Mixtral (transformers' default dtype, ~175 GiB, 5.25 GiB a layer) on a 24 GiB A5000: 3 layers after the embeddings and reserve
  const acc = sys('mi-readme-mixtral-8x7b-hf-accelerate');
  expect(acc.quantization).toBe('fp32');
  expect(acc.gpuLayers).toBe(3);
  // DeepSpeed's cells of the same table stay fp16 (its config casts)
  expect(sys('mi-readme-mixtral-8x7b-deepspeed-zero-inference').quantization).toBe('bf16');
  // -ngl by what fits: DeepSeek-V3 Q4 on 24 GiB: its last 2 of 61 blocks (~6 GiB each) after the 2 GiB reserve,
  // the per-head KV cache of num_ctx tokens per block (80 KiB a token) and room to stage one layer's
  // experts for the stated 500-token prompt (ggml-cuda offloads a >= 32-token batch's CPU weights)
  expect(sys('kt-v02-llamacpp-8e')).toMatchObject({ kind: 'llama-cpp', nCpuMoe: 0, ngl: 2, quantization: 'gguf-q4_k_m' });
  // the issue states -ngl 28 for Mixtral Q4 on the RTX 3090
  expect(sys('llamacpp-issue4729-3090-q4km')).toMatchObject({ ngl: 28 });
  // a stated --n-cpu-moe passes through with its -ngl (llmfit PR #755: -ngl 99 --n-cpu-moe 36); unstated, 0
  expect(sys('llmfit-pr755-2080-qwen3-30b-ncmoe36')).toMatchObject({ kind: 'llama-cpp', nCpuMoe: 36, ngl: 99 });
  expect(sys('llamacpp-issue4729-3090-q4km')).toMatchObject({ nCpuMoe: 0 });
  // Ollama by the release of each cell: Mixtral (Feb 2024) by v0.1.27's proportional rule,
  // 33 x (21.6 GiB avail - graph) / (KV + 28.4 GB file: Q4_K_M's tensor mix) = 26 of 33 slots;
  // DeepSeek-V2-Lite (Feb 2025, EstimateGPULayers) Q4 (~9 GiB) fits whole: 27 blocks + the output layer
  expect(sys('mi-readme-mixtral-8x7b-ollama')).toMatchObject({ kind: 'llama-cpp', ngl: 26 });
  expect(sys('mi-readme-deepseek-v2-lite-ollama')).toMatchObject({ kind: 'llama-cpp', ngl: 28 });
  const v = sys('mi-readme-mixtral-8x7b-vllm-cpu-offload').cpuOffloadGiB as number;
  expect(v).toBeGreaterThan(60);
  expect(v).toBeLessThan(75);
  // DeepSeek-V2-Lite (~29 GiB fp16): 0.9 x 24 GiB - 2 GiB leaves 19.6 GiB, less the MLA KV cache of one
  // request at max_model_len 163840 (27 layers x 576 x 2 B x 163840 = 4.75 GiB): ~14.4 GiB offloaded.
  const d = sys('mi-readme-deepseek-v2-lite-vllm-cpu-offload').cpuOffloadGiB as number;
  expect(d).toBeGreaterThan(13.5);
  expect(d).toBeLessThan(15.5);
  expect(sys('kt-v02-dual-8e')).toEqual({ kind: 'ktransformers', quantization: 'gguf-q4_k_m' });
  // Ollama's Q4_0 cell (issue #3301) takes the Q4_0 format
  expect(sys('ollama-issue3301-3090-mixtral-q4-ngl23')).toMatchObject({ kind: 'llama-cpp', ngl: 23, quantization: 'gguf-q4_0' });
});

test('vLLM cells run the engine of the release that measured them (README history): Feb 2025 cells V0 (functional_call copy), the v0.8.5 cells of May 2025 V1 (UVA)', async () => {
  expect(VLLM_RUNS['mi-readme-mixtral-8x7b-vllm-cpu-offload'].uva).toBe(false);
  expect(sys('mi-readme-mixtral-8x7b-vllm-cpu-offload')).toMatchObject({ kind: 'vllm-cpu-offload', uva: false });
  expect(sys('mi-readme-2025-02-deepseek-v2-lite-vllm-cpu-offload')).toMatchObject({ uva: false });
  expect(sys('mi-readme-deepseek-v2-lite-vllm-cpu-offload')).toMatchObject({ uva: true });
  expect(sys('mi-readme-qwen3-30b-a3b-vllm-cpu-offload')).toMatchObject({ uva: true });
  // the two DeepSeek-V2-Lite cells differ in the engine only: the same offload by the same rule
  expect(sys('mi-readme-2025-02-deepseek-v2-lite-vllm-cpu-offload').cpuOffloadGiB).toBe(sys('mi-readme-deepseek-v2-lite-vllm-cpu-offload').cpuOffloadGiB);
  // every entry names a point of the suite
  for (const id of Object.keys(VLLM_RUNS)) expect(byId(id)?.system).toBe('vllm-cpu-offload');
  // the copy of whole layers (every expert) is slower than reading the routed experts in place, as the README's 0.493 -> 0.149
  const base = suiteBaseDir(FILE);
  const old = await simulatePoint(byId('mi-readme-2025-02-deepseek-v2-lite-vllm-cpu-offload'), base, { suite });
  const v085 = await simulatePoint(byId('mi-readme-deepseek-v2-lite-vllm-cpu-offload'), base, { suite });
  expect(old).toBeGreaterThan(2 * v085);
}, 60_000);

test('README rows run the release and the Hugging Face code of their time: MoE-Infinity\'s dispatcher (every row postdates the Feb 2025 rewrite); ZeRO-3 gathers every expert only where the MoE block calls every expert', () => {
  expect(sys('mi-readme-mixtral-8x7b-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'dispatcher' });
  // DeepSeek-V2-Lite's cell of 2025-02-06 (0.181) predates the rewrite of 2025-02-23 (0.155), but
  // DeepSeek's block already ran through the C++ dispatcher then (@d73d279 moe_infinity/models/deepseek.py).
  expect(sys('mi-readme-2025-02-06-deepseek-v2-lite-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'dispatcher' });
  expect(sys('mi-readme-2025-02-23-deepseek-v2-lite-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'dispatcher' });
  expect(sys('mi-readme-mixtral-8x7b-moe-infinity').reserveGiB as number).toBeCloseTo(0.15 * 24, 9);
  expect(sys('mi-readme-qwen3-30b-a3b-moe-infinity')).toMatchObject({ dispatch: 'dispatcher' });
  expect(sys('mi-readme-deepseek-v2-lite-moe-infinity').reserveGiB as number).toBeCloseTo(0.15 * 24, 9);
  // a user's run on another GPU (issue #57): its stated device_memory_ratio 0.7 of the 16 GB card, not the README script's 0.85
  expect(sys('mi-issue57-rtx4080s-deepseek-v2-lite-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'dispatcher' });
  expect(sys('mi-issue57-rtx4080s-deepseek-v2-lite-moe-infinity').reserveGiB as number).toBeCloseTo(0.3 * 16, 9);
  expect(sys('mi-readme-qwen3-30b-a3b-deepspeed-zero-inference')).toMatchObject({ kind: 'deepspeed-zero-inference', pinMemory: false, callsEveryExpert: true });
  expect(sys('mi-readme-mixtral-8x7b-deepspeed-zero-inference')).toMatchObject({ callsEveryExpert: false, leafMoeBlock: false });
  // No config stated and a DeepSpeed before v0.18.0: no leaf MoE block for any README row.
  for (const m of ['mixtral-8x7b', 'deepseek-v2-lite', 'qwen3-30b-a3b']) expect(sys(`mi-readme-${m}-deepspeed-zero-inference`)).toMatchObject({ leafMoeBlock: false });
  expect(sys('mi-readme-deepseek-v2-lite-deepspeed-zero-inference')).toMatchObject({ callsEveryExpert: false });
});

test('Fiddler points: Fiddler\'s own placement rule (5% of the GPU\'s memory kept free) and its CPU rule (below 10 tokens)', () => {
  // Quadro RTX 6000: 24 GiB x 0.05
  expect(sys('fiddler-v1-rtx6000-16-512-fiddler')).toEqual({ kind: 'fiddler', reserveGiB: expect.closeTo(1.2, 9) });
  expect(policy('fiddler-v1-rtx6000-16-512-fiddler')).toMatchObject({ kind: 'static', cache: { hbm: true }, onMiss: { kind: 'cpu', belowTokens: 10 } });
  // The figure's DeepSpeed-MII baseline is ZeRO-3 with CPU parameter offload: the ZeRO-Inference preset, bf16
  // as its script sets it up (eval-baseline.py @1ad7a6c): pin_memory True, MixtralSparseMoeBlock a z3 leaf module.
  expect(sys('fiddler-v1-rtx6000-16-512-deepspeed-mii')).toEqual({ kind: 'deepspeed-zero-inference', quantization: 'bf16', pinMemory: true, callsEveryExpert: false, leafMoeBlock: true });
  expect(policy('fiddler-v1-rtx6000-16-512-deepspeed-mii')).toMatchObject({ kind: 'all-on-gpu' });
});

test('the published Fiddler points simulate, and Fiddler (CPU experts) comes out faster than ZeRO-3 gathering every expert (its leaf MoE block)', async () => {
  const base = suiteBaseDir(FILE);
  const fid = await simulatePoint(byId('fiddler-v1-rtx6000-16-512-fiddler'), base, { suite });
  const ds = await simulatePoint(byId('fiddler-v1-rtx6000-16-512-deepspeed-mii'), base, { suite });
  expect(fid).toBeGreaterThan(0);
  expect(ds).toBeGreaterThan(fid);
}, 60_000);

test('the per-kernel override slows a point monotonically (the fitted parameter acts)', async () => {
  const p = byId('mo-t2-2bit-t4-lru');
  const base = suiteBaseDir(FILE);
  const at = async (v?: number) => simulatePoint(p, base, { suite, parameter: perKernelCost, value: v });
  const [preset, low, high] = [await at(), await at(1), await at(200)];
  expect(low).toBeLessThan(preset);
  expect(high).toBeGreaterThan(preset);
  expect(perKernelCost.preset('eager-pytorch')).toBe(10);
}, 60_000);

test('per-runtime leave-one-system-out: a fold fits only its runtime, only on other systems', async () => {
  const ids = ['mo-t2-2bit-t4-full', 'mo-t2-2bit-t4-lru', 'mo-t2-2bit-t4-naive', 'mi-readme-deepseek-v2-lite-deepspeed-zero-inference', 'mi-readme-deepseek-v2-lite-moe-infinity'];
  const small = { ...suite, points: suite.points.filter((p) => ids.includes(p.id)) };
  const grid: FittedParameter = { ...perKernelCost, grid: [1, 100] };
  const r = await reproduce(small, { baseDir: suiteBaseDir(FILE), fit: { kind: 'loso' }, parameter: grid });
  const pts = new Map(r.unfitted.points.map((p) => [p.id, p]));
  for (const f of r.folds) {
    for (const id of f.fitPoints) {
      expect(f.heldOut).not.toContain(pts.get(id)!.system);
      expect(pts.get(id)!.runtime).toBe(f.runtime);
    }
  }
  const ds = r.folds.find((f) => f.heldOut[0] === 'deepspeed-zero-inference')!;
  expect(ds.fitPoints).toEqual([]); // no other system runs deepspeed-zero: preset value
  expect(ds.value).toBe(10);
  const acc = r.folds.find((f) => f.heldOut[0] === 'hf-accelerate')!;
  // MoE-Infinity runs moe-infinity-dispatcher and mixtral-offloading eager-pytorch-hqq-triton: among these points
  // no other system shares hf-accelerate's eager-pytorch, so its fold keeps the preset value too.
  expect(acc.fitSystems).toEqual([]);
  expect(acc.value).toBe(10);
  const mo = r.folds.find((f) => f.heldOut[0] === 'mixtral-offloading')!;
  expect(mo.runtime).toBe('eager-pytorch-hqq-triton');
  expect(mo.fitPoints).toEqual([]);
  // its preset: 80 us, fitted offline on Table 2's 3-bit points only (execution-semantics.ts)
  expect(mo.value).toBe(80);
  const held = new Map(r.heldOut!.points.map((p) => [p.id, p]));
  expect(held.get('mi-readme-deepseek-v2-lite-deepspeed-zero-inference')!.fitted).toBe(false);
  expect(held.get('mo-t2-2bit-t4-naive')!.parameterValue).toBe(acc.value);
  expect(held.get('mo-t2-2bit-t4-naive')!.fitted).toBe(false);
  expect([...held.values()].every((p) => !p.usedForFitting)).toBe(true);
}, 120_000);

test('the 2024 MoE-Infinity README cells run the hooks release (MOEINF_POINT_RUNS), the 2025 cells the dispatcher', () => {
  expect(sys('mi-readme-2024-mixtral-8x7b-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'hooks' });
  expect(sys('mi-readme-2024-b32-mixtral-8x7b-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'hooks' });
  expect(sys('mi-readme-mixtral-8x7b-moe-infinity')).toMatchObject({ kind: 'moe-infinity', dispatch: 'dispatcher' });
  // device_memory_ratio 0.75 (interface_example.py@87eacf7) vs 0.85 (@cca059c): a larger reserve.
  expect(sys('mi-readme-2024-mixtral-8x7b-moe-infinity').reserveGiB as number).toBeGreaterThan(sys('mi-readme-mixtral-8x7b-moe-infinity').reserveGiB as number);
});

test('Accelerate layers that fit leave room to stage the experts one offloaded layer runs in a step: batch 32 keeps one Mixtral layer fewer than batch 1', () => {
  // fp32 Mixtral (transformers' default dtype) on 24 GiB: a layer is 5.41 GiB; ~20.9 GiB after the fp32 embeddings and the 2 GiB reserve.
  // Batch 1 stages 2 experts (1.31 GiB): 3 layers; batch 32 stages all 8 (5.25 GiB): 2 layers.
  expect(sys('mi-readme-mixtral-8x7b-hf-accelerate')).toMatchObject({ kind: 'accelerate', gpuLayers: 3 });
  expect(sys('mi-readme-2024-b32-mixtral-8x7b-hf-accelerate')).toMatchObject({ kind: 'accelerate', gpuLayers: 2 });
  // fp32 DeepSeek-V2-Lite: 2.18 GiB a layer, ~20.4 GiB after the 1.56 GiB fp32 embeddings and the reserve, less 6 staged experts (0.19 GiB): 9 of 26 (README system table)
  expect(sys('mi-readme-deepseek-v2-lite-hf-accelerate')).toMatchObject({ kind: 'accelerate', gpuLayers: 9, quantization: 'fp32' });
});

test('a point whose experts dtype has no weight format for its system is refused, naming the field (no fall-through to hqq-2bit or gguf-q4_k)', () => {
  const edited = (id: string, experts: string) => ({ ...byId(id), precision: { ...byId(id).precision, experts } }) as ReturnType<typeof byId>;
  // fp8 on a GGUF system, int4 on an HQQ one: formats the suite's rows do not define
  expect(() => pointScenario(edited('llamacpp-issue4729-3090-q4km', 'fp8'), { suite, baseDir: suiteBaseDir(FILE) })).toThrow(/llamacpp-issue4729-3090-q4km\.precision\.experts: fp8 has no GGUF weight format/);
  expect(() => pointScenario(edited('mo-t2-2bit-t4-naive', 'int4'), { suite, baseDir: suiteBaseDir(FILE) })).toThrow(/mo-t2-2bit-t4-naive\.precision\.experts: int4 has no HQQ weight format/);
  // the stated pairs still map
  expect(pointScenario(edited('mo-t2-2bit-t4-naive', 'fp32'), { suite, baseDir: suiteBaseDir(FILE) }).system).toMatchObject({ quantization: 'fp32' });
  expect(sys('mo-t2-3bit-t4-naive')).toMatchObject({ quantization: 'hqq-3bit' });
  // a named format of another family is refused the same way, naming the format field
  const named = (id: string, format: string) => ({ ...byId(id), precision: { ...byId(id).precision, experts: { format } } }) as ReturnType<typeof byId>;
  expect(() => pointScenario(named('mo-t2-3bit-t4-lru', 'gguf-q4_k_m'), { suite, baseDir: suiteBaseDir(FILE) })).toThrow(/mo-t2-3bit-t4-lru\.precision\.experts\.format: gguf-q4_k_m has no HQQ weight format for mixtral-offloading .*expected one of hqq-2bit-g16, hqq-3bit-g64, hqq-4bit-g64/);
  expect(byId('mo-t2-3bit-t4-lru').precision).toEqual({ experts: { format: 'hqq-3bit-g64' }, dense: { format: 'hqq-4bit-g64' }, kvCache: 'fp16', groupSize: 128 });
  expect(sys('mo-t2-3bit-t4-lru')).toMatchObject({ quantization: 'hqq-3bit' });
  expect(sys('mo-t2-2bit-t4-lru')).toMatchObject({ quantization: 'hqq-2bit' });
});

test('every MOEINF_POINT_RUNS entry names a MoE-Infinity point of the suite (a mistyped id would fall back to the model row)', () => {
  for (const id of Object.keys(MOEINF_POINT_RUNS)) {
    expect(byId(id)?.system, id).toBe('moe-infinity');
    expect(sys(id), id).toMatchObject({ kind: 'moe-infinity', dispatch: MOEINF_POINT_RUNS[id].dispatch });
  }
});

test('a MoE-Infinity or vLLM point of a model without a release / max_model_len entry is refused, naming the field (no fallback to another model\'s row or to no KV cache)', () => {
  const other = (id: string) => ({ ...byId(id), id: `${id}-x`, model: 'mixtral-8x22b' }) as ReturnType<typeof byId>;
  expect(() => pointScenario(other('mi-readme-mixtral-8x7b-moe-infinity'), { suite, baseDir: suiteBaseDir(FILE) })).toThrow(/mi-readme-mixtral-8x7b-moe-infinity-x\.model: no MoE-Infinity release known for mixtral-8x22b/);
  expect(() => pointScenario(other('mi-readme-mixtral-8x7b-vllm-cpu-offload'), { suite, baseDir: suiteBaseDir(FILE) })).toThrow(/mi-readme-mixtral-8x7b-vllm-cpu-offload-x\.model: no max_model_len known for mixtral-8x22b/);
});
test('the README\'s first tables (@6efc133): fp32 T5-family cells unquantised, the encoder fills the GPU first, the Switch/NLLB loops call every expert, the 2024 cells run the hooks release', () => {
  // fp32 is no quantisation: the catalog's fp32 format (no dequantisation; its bytes come from the point's precision)
  for (const id of ['mi-readme-switch-large-128-hf-accelerate', 'mi-readme-2024-bs32-nllb-moe-54b-deepspeed-zero-inference']) {
    expect(byId(id).precision.experts).toBe('fp32');
    expect(sys(id).quantization).toBe('fp32');
    expect(pointScenario(byId(id), { suite, baseDir: suiteBaseDir(FILE) }).precision).toMatchObject({ experts: 'fp32', dense: 'fp32' });
  }
  // device_map auto, encoder first: 12 (Switch) / 6 (NLLB) encoder MoE layers of ~4.3 / 17 GB in fp32
  // take more than the A5000 has, so no decoder layer is on the GPU
  expect(ENCODER_FIRST['switch-large-128'].encoderMoeLayers).toBe(12);
  for (const m of ['switch-large-128', 'nllb-moe-54b']) {
    expect(HF_MOE_LOOP[m].callsEveryExpert).toBe(true);
    expect(sys(`mi-readme-${m}-hf-accelerate`)).toMatchObject({ kind: 'accelerate', gpuLayers: 0, callsEveryExpert: true });
    expect(sys(`mi-readme-2024-bs32-${m}-hf-accelerate`)).toMatchObject({ gpuLayers: 0, callsEveryExpert: true });
    expect(sys(`mi-readme-${m}-deepspeed-zero-inference`)).toMatchObject({ kind: 'deepspeed-zero-inference', pinMemory: false, callsEveryExpert: true, leafMoeBlock: false });
    expect(policy(`mi-readme-${m}-hf-accelerate`).kind).toBe('all-on-gpu');
  }
  // the 2024 cells: hooks release at device_memory_ratio 0.75; the Feb 2025 re-measurement: the dispatcher at 0.85
  for (const id of Object.keys(MOEINF_POINT_RUNS).filter((i) => /switch|nllb/.test(i))) {
    expect(byId(id)?.system).toBe('moe-infinity');
    expect(sys(id)).toMatchObject({ kind: 'moe-infinity', dispatch: 'hooks' });
    expect(sys(id).reserveGiB as number).toBeCloseTo(0.25 * 24, 9);
  }
  expect(sys('mi-readme-2025-switch-large-128-moe-infinity')).toMatchObject({ dispatch: 'dispatcher' });
  expect(sys('mi-readme-2025-nllb-moe-54b-moe-infinity').reserveGiB as number).toBeCloseTo(0.15 * 24, 9);
});

test('the new Switch and NLLB points simulate, and ZeRO-3 gathering every fp32 expert costs about the same per step at batch 1 and 32 (transfer-bound), as the README\'s DeepSpeed cells do', async () => {
  const base = suiteBaseDir(FILE);
  const b1 = await simulatePoint(byId('mi-readme-switch-large-128-deepspeed-zero-inference'), base, { suite });
  const b32 = await simulatePoint(byId('mi-readme-2024-bs32-switch-large-128-deepspeed-zero-inference'), base, { suite });
  // seconds per token: the batch-32 step is 32 x its per-token figure
  expect((32 * b32) / b1).toBeGreaterThan(0.8);
  expect((32 * b32) / b1).toBeLessThan(1.25);
}, 60_000);

test('Accelerate on the Switch/NLLB Hugging Face loop (every expert called, so uploaded): the batch-1 and batch-32 steps move the same bytes and cost about the same, against published step ratios of 5.3x and 2.4x', async () => {
  const base = suiteBaseDir(FILE);
  for (const [m, published] of [['switch-large-128', 5.3], ['nllb-moe-54b', 2.4]] as const) {
    const id1 = `mi-readme-${m}-hf-accelerate`;
    const id32 = `mi-readme-2024-bs32-${m}-hf-accelerate`;
    const b1 = await simulatePoint(byId(id1), base, { suite });
    const b32 = await simulatePoint(byId(id32), base, { suite });
    // seconds per token; the batch-32 step is 32 x its figure
    expect((32 * b32) / b1, m).toBeGreaterThan(0.8);
    expect((32 * b32) / b1, m).toBeLessThan(1.25);
    // the cells: batch-1 s/token, batch-32 tokens/s
    expect(32 / byId(id32).value / byId(id1).value, m).toBeCloseTo(published, 1);
  }
}, 120_000);

test('ZeRO-3 on Mixtral (README 2024): batch 1 gathers the routed experts, batch 32 every expert, so the simulated step ratio is the bytes ratio (~3.6), not the published 1.67; the batch-32 cell needs more than the pageable rate', async () => {
  const base = suiteBaseDir(FILE);
  const id1 = 'mi-readme-mixtral-8x7b-deepspeed-zero-inference';
  const id32 = 'mi-readme-2024-b32-mixtral-8x7b-deepspeed-zero-inference';
  expect(sys(id1)).toMatchObject({ pinMemory: false, leafMoeBlock: false, callsEveryExpert: false });
  expect(sys(id32)).toMatchObject({ pinMemory: false, leafMoeBlock: false, callsEveryExpert: false });
  const m = modelPresets['mixtral-8x7b'];
  const bytes = (n: number) => n * 2; // fp16
  const all = bytes(totalParams(m));
  const routed = bytes(totalParams(m) - expertParams(m) * m.numExperts * numMoeLayers(m) + expertParams(m) * m.topK * numMoeLayers(m));
  const b1 = await simulatePoint(byId(id1), base, { suite });
  const b32 = await simulatePoint(byId(id32), base, { suite });
  // seconds per token; the batch-32 step is 32 x its figure. Transfer-bound: the ratio is within 10% of the bytes ratio.
  const ratio = (32 * b32) / b1;
  expect(ratio / (all / routed)).toBeGreaterThan(0.9);
  expect(ratio / (all / routed)).toBeLessThan(1.1);
  // The published cells: a step ratio of 1.67 ...
  const step32 = 32 / byId(id32).value;
  expect(step32 / byId(id1).value).toBeCloseTo(1.67, 2);
  // ... and a batch-32 step that moves the whole model at >= 22.5 GB/s, above the pageable rate of the A5000's PCIe 4.0 x16.
  const pageable = hardwarePresets['rtx-a5000'].link.h2dBytesPerSec * linkPresets.pageable.efficiency.pageable;
  expect(all / step32 / 1e9).toBeGreaterThan(22.4);
  expect(all / step32).toBeGreaterThan(1.5 * pageable);
}, 120_000);

test('moe-lightning points: a tier object in precision.experts is named in the error, and a {dtype} float tier runs', () => {
  const p = byId('ml-s1-t4-mtbench-gen256');
  const run = (experts: unknown) => () => pointScenario({ ...p, precision: { ...p.precision, experts } } as typeof p, { suite, baseDir: suiteBaseDir(FILE) });
  expect(run({ format: 'hqq-4bit-g64' })).toThrow(/ml-s1-t4-mtbench-gen256\.precision\.experts: hqq-4bit-g64 has no weight format for moe-lightning/);
  expect(run({ format: 'hqq-4bit-g64' })).not.toThrow(/object Object/);
  expect(run('int4')).toThrow(/precision\.experts: int4 has no weight format/);
  expect((run({ dtype: 'fp16', groupSize: 64 })().system as Record<string, unknown>).quantization).toBe('bf16');
});
