/**
 * The published-measurements suite (scenarios/published/points.json): each point a number some
 * paper or project README published, with its source, setup, system and unit. The schema is strict,
 * so a point without a source or with a stray field is an input error naming the field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { fsReason } from '../util/fs.js';
import { dtypeSchema, tierPrecisionSchema } from '../scenario/schema.js';

export const METRICS = ['tokensPerSec', 'secPerToken'] as const;
export type PublishedMetric = (typeof METRICS)[number];

export const publishedSourceSchema = z.strictObject({
  /** A citation: paper (arXiv id) or repository and file. */
  ref: z.string().min(5),
  url: z.url(),
  /** Table, figure or section the number is in. */
  locator: z.string().min(3),
  /** The row / cell as published. */
  quote: z.string().min(1).optional(),
});

export const publishedPointSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  source: publishedSourceSchema,
  /** The system measured: a key of src/reproduce/systems.ts, which names its catalog preset (src/systems/catalog.ts). */
  system: z.string().min(1),
  /** A configuration of that system the source names (full, lru, on-demand, dual-socket, ...). */
  variant: z.string().min(1).optional(),
  /** A model preset. */
  model: z.string().min(1),
  /** Routed experts per token when the source changed it (kTransformers' "6 experts"). */
  topK: z.number().int().positive().optional(),
  /** The format as the source states it (or "not stated; ..." with what is assumed). */
  quantization: z.string().min(1),
  /** The bytes per parameter moesim charges for it (scenario `precision:`): a tier's dtype (at groupSize) or a named format (src/model/formats.ts). */
  precision: z.strictObject({ experts: tierPrecisionSchema, dense: tierPrecisionSchema, kvCache: dtypeSchema, groupSize: z.number().int().positive().default(128) }),
  /** The GPU preset. */
  gpu: z.string().min(1),
  /** The scenario's `hardware:` for this setup (GPU preset plus the host link / CPU of the source). */
  hardware: z.record(z.string(), z.unknown()),
  /** The host as the source describes it. */
  host: z.string().min(1),
  /**
   * The context the source states: prompt and output lengths, and whether its per-token figure
   * times the decode only or the whole request (prefill included). `unstated` where the source says
   * nothing: the point then decodes from an empty context (src/reproduce/run.ts) and nothing is
   * guessed. `contextSource` cites where each was read.
   */
  workload: z.strictObject({
    batchSize: z.number().int().positive(),
    promptTokens: z.union([z.number().int().nonnegative(), z.literal('unstated')]),
    outputTokens: z.union([z.number().int().positive(), z.literal('unstated')]),
    /** `decode`: time per output token after the first (prefill excluded); `end-to-end`: output tokens / (prefill + decode time). */
    timed: z.enum(['decode', 'end-to-end', 'unstated']),
    /**
     * The published rate counts the prompt's tokens with the generated ones (a script dividing
     * len(generate(...).sequences), prompt included, by the time: h39s/mlsys@02a7818:run_benchmark.py);
     * only with timed end-to-end and both lengths stated. Absent: output tokens only.
     */
    countsPromptTokens: z.boolean().optional(),
    contextSource: z.string().min(10),
    note: z.string().optional(),
  }),
  /** System parameters the source states (cachePerLayer: experts per layer kept on the GPU; ngl: llama.cpp -ngl; nCpuMoe: llama.cpp --n-cpu-moe; microBatches: MoE-Lightning --n-ub). */
  params: z.strictObject({
    cachePerLayer: z.number().int().nonnegative().optional(),
    ngl: z.number().int().nonnegative().optional(),
    nCpuMoe: z.number().int().nonnegative().optional(),
    /** MoE-Lightning: micro-batches of the batch (the artifact's --n-ub). */
    microBatches: z.number().int().positive().optional(),
  }),
  metric: z.enum(METRICS),
  value: z.number().positive(),
  /** Points measured on the same setup share a comparison id: their ranking is checked. */
  comparison: z.string().min(1).optional(),
  /**
   * Why this point never enters a fit (a reason, with its evidence): a point whose setup the suite
   * cannot reconstruct (its notes show what was tried) is still predicted and reported, but a
   * runtime's fitted cost would absorb the unknown setup rather than measure the runtime.
   */
  notForFitting: z.string().min(20).optional(),
  notes: z.string().optional(),
});
export type PublishedPoint = z.infer<typeof publishedPointSchema>;

export const publishedSuiteSchema = z.strictObject({
  description: z.string(),
  version: z.literal(1),
  points: z.array(publishedPointSchema).min(1),
});
export type PublishedSuite = z.infer<typeof publishedSuiteSchema>;

export function parseSuite(raw: unknown, file = 'points.json'): PublishedSuite {
  const r = publishedSuiteSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InputError(`${file}: ${i.path.join('.')}: ${i.message}`);
  }
  const ids = new Set<string>();
  for (const p of r.data.points) {
    if (ids.has(p.id)) throw new InputError(`${file}: duplicate point id "${p.id}"`);
    const w = p.workload;
    if (w.countsPromptTokens && (w.timed !== 'end-to-end' || w.promptTokens === 'unstated' || w.outputTokens === 'unstated'))
      throw new InputError(`${file}: ${p.id}.workload.countsPromptTokens: needs timed "end-to-end" and promptTokens and outputTokens stated (got timed ${w.timed}, promptTokens ${w.promptTokens}, outputTokens ${w.outputTokens})`);
    ids.add(p.id);
  }
  return r.data;
}

export function loadSuite(file: string): PublishedSuite {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new InputError(`${file}: not JSON (${e.message}); expected a points file (scenarios/published/points.json)`);
    throw new InputError(`${file}: cannot read the points file: ${fsReason(e)}`);
  }
  return parseSuite(raw, file);
}

/** Seconds per output token, whatever the published unit. */
export const secPerToken = (metric: PublishedMetric, value: number): number => (metric === 'secPerToken' ? value : 1 / value);

/**
 * The context a point decodes at: the source's prompt (0 where unstated: an empty context) and the
 * tokens each trace sequence holds: the prompt, then one decode step per output token after the
 * first (the prefill emits the first), so the mean TPOT is the mean over the generated tokens of
 * the per-token cost at contexts prompt + 1 .. prompt + outputs - 1. Without a stated output length
 * a synthetic trace decodes `syntheticTokens` tokens after the prompt (48 by default, as before).
 * The recorded Mixtral trace keeps its own sequence lengths (83 and 254 tokens): its points take
 * the stated prompt from them and decode the rest.
 */
export function pointContext(p: PublishedPoint, syntheticTokens = 48): { promptTokens: number; tokensPerSequence: number } {
  const prompt = p.workload.promptTokens === 'unstated' ? 0 : p.workload.promptTokens;
  const outputs = p.workload.outputTokens;
  const tokensPerSequence = outputs === 'unstated' ? prompt + syntheticTokens : prompt + outputs - (prompt > 0 ? 1 : 0);
  return { promptTokens: prompt, tokensPerSequence };
}
