/**
 * The context each published point decodes at (src/reproduce/run.ts pointContext): the source's
 * prompt and output lengths where it states them, an empty context where it does not, and the KV
 * cache that context makes every decode step read.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { pointContext, simulatePoint, suiteBaseDir } from '../../src/reproduce/run.js';
import { resolveModel } from '../../src/model/resolve.js';
import { kvBytesPerTokenPerLayer, perHeadKvBytesPerTokenPerLayer } from '../../src/model/derived.js';
import { systemSemantics } from '../../src/systems/catalog.js';
import { contextLabel } from '../../src/reproduce/format.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);
const point = (id: string) => suite.points.find((p) => p.id === id)!;

test('each point decodes at the context its source states, and from an empty one where it states none', () => {
  // kTransformers V0.2.1, "1K (969)" prompt, 300 output tokens: the prefill emits the first, 299 decode steps follow
  expect(pointContext(point('kt-v021-8e-1k'))).toEqual({ promptTokens: 969, tokensPerSequence: 969 + 299 });
  // V0.2: prompt 500, output unstated: the default 48 decode tokens after the prompt
  expect(pointContext(point('kt-v02-dual-8e'))).toEqual({ promptTokens: 500, tokensPerSequence: 548 });
  // llama-bench tg128: 128 tokens from an empty context
  expect(pointContext(point('llamacpp-issue5484-p40-fp16'))).toEqual({ promptTokens: 0, tokensPerSequence: 128 });
  // nothing stated: an empty context, as before
  expect(pointContext(point('mi-readme-qwen3-30b-a3b-moe-infinity'))).toEqual({ promptTokens: 0, tokensPerSequence: 48 });
  expect(contextLabel({ promptTokens: 969, outputTokens: 300, timed: 'decode' })).toBe('969+300 decode');
  expect(contextLabel({ promptTokens: 16, outputTokens: 512, timed: 'end-to-end' })).toBe('16+512 e2e');
  expect(contextLabel({ promptTokens: 500, outputTokens: 'unstated', timed: 'decode' })).toBe('500+? decode');
  expect(contextLabel({ promptTokens: 'unstated', outputTokens: 'unstated', timed: 'unstated' })).toBe('unstated');
  for (const p of suite.points) {
    // a figure that includes the prefill needs the output length to spread it over
    if (p.workload.timed === 'end-to-end') expect(p.workload.outputTokens, p.id).not.toBe('unstated');
    if (p.workload.promptTokens === 'unstated') expect(pointContext(p).promptTokens).toBe(0);
  }
});

test('a stated context costs the KV bytes it reads: kTransformers at 969 + 300 tokens vs an empty context (pinned)', async () => {
  const p = point('kt-v021-8e-1k');
  const empty = { ...p, workload: { ...p.workload, promptTokens: 'unstated' as const, outputTokens: 'unstated' as const } };
  const base = suiteBaseDir(FILE);
  const stated = await simulatePoint(p, base, { suite });
  const none = await simulatePoint(empty, base, { suite });
  // TPOT samples: the decode steps after each sequence's first output, at contexts P+1 .. L
  // (stated: 970 .. 1268) and 2 .. 48 (empty); the mean context differs by their midpoints.
  const dContext = (970 + 1268) / 2 - (2 + 48) / 2;
  const model = resolveModel({ preset: 'deepseek-v3', topK: 8 }, 'test');
  // kTransformers keeps DeepSeek's compressed latent (576 values, bf16) for all 61 layers on the GPU (RTX 4090: 1008 GB/s)
  const kv = kvBytesPerTokenPerLayer(model, p.precision.kvCache);
  expect(kv).toBe(1152);
  const expected = (model.numLayers * kv * dContext) / 1008e9;
  expect(stated).toBeGreaterThan(none);
  expect((stated - none) / expected).toBeGreaterThan(0.95);
  expect((stated - none) / expected).toBeLessThan(1.05);
}, 60_000);

test("llama.cpp of early 2025 caches DeepSeek-V3's keys and values per head: 80 KiB per token and layer, not the latent's 1152 bytes", () => {
  const model = resolveModel('deepseek-v3', 'test');
  expect(perHeadKvBytesPerTokenPerLayer(model, 'fp16')).toBe(128 * (128 + 64 + 128) * 2);
  expect(perHeadKvBytesPerTokenPerLayer(model, 'fp16')).toBe(80 * 1024);
  expect(systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k' }, model).mlaCache).toBe('per-head');
  expect(systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k', mlaCache: 'latent' }, model).mlaCache).toBe('latent');
  // a GQA model caches its keys and values either way
  const mixtral = resolveModel('mixtral-8x7b', 'test');
  expect(perHeadKvBytesPerTokenPerLayer(mixtral, 'fp16')).toBe(kvBytesPerTokenPerLayer(mixtral, 'fp16'));
});
