/**
 * The scenario's `model:` field: a preset name, or an object `{ preset?, ...overrides }`.
 * Without a preset the object must give every architecture field; name, displayName and source
 * default to "custom" / "custom" / "inline in scenario".
 */
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { editDistance, nearestNames, unknownNameMessage } from '../util/suggest.js';
import { modelPresets } from './presets.js';
import type { AttentionShape, MoeModel } from './types.js';

// ---- zod helpers shared with hardware/resolve.ts -------------------------------------------

/** A value as it appears in an error message: numbers and strings as written, others as JSON. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 40 ? json.slice(0, 37) + '...' : json;
}

export function positiveNumber() {
  const error = (iss: { input?: unknown }) => `expected a positive number, got ${describeValue(iss.input)}`;
  return z.number({ error }).positive({ error });
}

function positiveInt() {
  const error = (iss: { input?: unknown }) => `expected a positive integer, got ${describeValue(iss.input)}`;
  return z.number({ error }).int({ error }).positive({ error });
}

function nonNegativeInt() {
  const error = (iss: { input?: unknown }) => `expected an integer >= 0, got ${describeValue(iss.input)}`;
  return z.number({ error }).int({ error }).nonnegative({ error });
}

/** `prefix.a[2].b` from a base path and an issue path. */
export function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), prefix);
}

/** An issue's message, with "did you mean" for unknown keys (known keys at `issue.path` from `knownKeys`). */
function issueMessage(issue: z.core.$ZodIssue, knownKeys: (path: readonly PropertyKey[]) => readonly string[]): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const key = issue.keys[0] ?? '';
  const lower = key.toLowerCase();
  const close = (k: string) => k.toLowerCase().includes(lower) || lower.includes(k.toLowerCase()) || editDistance(k.toLowerCase(), lower) <= 2;
  const near = nearestNames(key, knownKeys(issue.path), 3).filter(close);
  return `unknown key "${key}"` + (near.length > 0 ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : '');
}

/**
 * A schema for "a preset name, or an object": dispatches on the input's type itself instead of
 * trying both union branches, so the issues (and their paths) are the object's own, not zod's
 * "Invalid input" for a failed union. Unknown keys come out as "unknown key ...; did you mean".
 */
export function presetOrObject<T extends z.ZodType>(objectSchema: T, knownKeys: (path: readonly PropertyKey[]) => readonly string[]) {
  return z.custom<string | z.output<T>>().superRefine((value, ctx) => {
    if (typeof value === 'string') return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: `expected a preset name or an object, got ${describeValue(value)}` });
      return;
    }
    const parsed = objectSchema.safeParse(value);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issueMessage(issue, knownKeys), path: [...issue.path] });
    }
  });
}

/** The first issue of a failed parse as a one-line InputError naming the field path. */
export function inputErrorFromZod(error: z.ZodError, fieldPath: string): InputError {
  const issue = error.issues[0];
  return new InputError(issue === undefined ? `${fieldPath}: invalid value` : `${joinPath(fieldPath, issue.path)}: ${issue.message}`);
}

// ---- schema -------------------------------------------------------------------------------------

const gqaSchema = z
  .object({
    kind: z.literal('gqa'),
    numHeads: positiveInt(),
    numKvHeads: positiveInt(),
    headDim: positiveInt(),
    slidingWindow: positiveInt().optional(),
  })
  .strict();

const mlaSchema = z
  .object({
    kind: z.literal('mla'),
    numHeads: positiveInt(),
    qLoraRank: positiveInt().nullable(),
    kvLoraRank: positiveInt(),
    qkNopeHeadDim: positiveInt(),
    qkRopeHeadDim: positiveInt(),
    vHeadDim: positiveInt(),
  })
  .strict();

const attentionSchema = z.discriminatedUnion('kind', [gqaSchema, mlaSchema], {
  error: (iss) => `expected "gqa" or "mla", got ${describeValue((iss.input as { kind?: unknown } | undefined)?.kind)}`,
});

/** Every MoeModel field, each optional, plus `preset`. */
const modelObjectSchema = z
  .object({
    preset: z.string().optional(),
    name: z.string().min(1).optional(),
    displayName: z.string().min(1).optional(),
    source: z.string().optional(),
    notes: z.string().optional(),
    numLayers: positiveInt().optional(),
    moeLayers: z.array(nonNegativeInt()).optional(),
    numExperts: positiveInt().optional(),
    topK: positiveInt().optional(),
    numSharedExperts: nonNegativeInt().optional(),
    sharedExpertIntermediateSize: nonNegativeInt().optional(),
    hiddenSize: positiveInt().optional(),
    expertIntermediateSize: positiveInt().optional(),
    expertMatrices: z.union([z.literal(2), z.literal(3)], { error: (iss) => `expected 2 or 3, got ${describeValue(iss.input)}` }).optional(),
    expertBias: z.boolean().optional(),
    denseIntermediateSize: nonNegativeInt().optional(),
    attention: attentionSchema.optional(),
    vocabSize: positiveInt().optional(),
    tiedEmbeddings: z.boolean().optional(),
  })
  .strict();


const metadataKeys = ['preset', 'name', 'displayName', 'source', 'notes'] as const;
/** Fields an inline model without a preset must give. */
const architectureKeys = Object.keys(modelObjectSchema.shape).filter(
  (k) => !(metadataKeys as readonly string[]).includes(k),
) as (keyof MoeModel)[];

function knownKeys(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return Object.keys(modelObjectSchema.shape);
  if (path[0] === 'attention') return [...Object.keys(gqaSchema.shape), ...Object.keys(mlaSchema.shape)];
  return [];
}

/** `model:` in a scenario: a preset name or `{ preset?, ...overrides }`. */
export const modelSpecSchema = presetOrObject(modelObjectSchema, knownKeys);
export type ModelSpec = z.infer<typeof modelSpecSchema>;

// ---- resolution ---------------------------------------------------------------------------------

/** Resolve a `model:` spec to a full, consistent MoeModel. Throws InputError naming `fieldPath`. */
export function resolveModel(spec: unknown, fieldPath = 'model'): MoeModel {
  const parsed = modelSpecSchema.safeParse(spec);
  if (!parsed.success) throw inputErrorFromZod(parsed.error, fieldPath);
  const value = parsed.data;
  if (typeof value === 'string') return structuredClone(presetOrThrow(value, fieldPath));

  const { preset, ...overrides } = value;
  const changed = architectureKeys.filter((k) => overrides[k as keyof typeof overrides] !== undefined);
  let model: MoeModel;
  if (preset !== undefined) {
    const base = presetOrThrow(preset, `${fieldPath}.preset`);
    const modified = changed.length > 0;
    model = {
      ...structuredClone(base),
      ...definedOnly(overrides),
      name: overrides.name ?? (modified ? `${base.name}+overrides` : base.name),
      displayName: overrides.displayName ?? (modified ? `${base.displayName} (${changed.join(', ')} overridden)` : base.displayName),
      source: overrides.source ?? (modified ? `${base.source}; overridden in scenario: ${changed.join(', ')}` : base.source),
    } as MoeModel;
  } else {
    const missing = architectureKeys.filter((k) => overrides[k as keyof typeof overrides] === undefined);
    if (missing.length > 0) {
      throw new InputError(`${fieldPath}: without a preset, give every field; missing ${missing.join(', ')}`);
    }
    model = {
      name: 'custom',
      displayName: overrides.name ?? 'custom',
      source: 'inline in scenario',
      ...definedOnly(overrides),
    } as MoeModel;
  }
  validateModel(model, fieldPath);
  return model;
}

function presetOrThrow(name: string, fieldPath: string): MoeModel {
  const preset = modelPresets[name];
  if (preset === undefined) throw new InputError(`${fieldPath}: ${unknownNameMessage('model', name, Object.keys(modelPresets))}`);
  return preset;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Cross-field consistency; single-field checks are in the schema. */
export function validateModel(m: MoeModel, fieldPath = 'model'): void {
  const fail = (field: string, message: string): never => {
    throw new InputError(`${fieldPath}.${field}: ${message}`);
  };
  m.moeLayers.forEach((layer, i) => {
    if (layer >= m.numLayers) fail(`moeLayers[${i}]`, `expected a layer index below numLayers (${m.numLayers}), got ${layer}`);
    if (i > 0 && layer <= m.moeLayers[i - 1]) {
      fail(`moeLayers[${i}]`, `expected ascending, distinct indices, got ${layer} after ${m.moeLayers[i - 1]}`);
    }
  });
  if (m.moeLayers.length === 0) fail('moeLayers', 'expected at least one MoE layer, got []');
  if (m.topK > m.numExperts) fail('topK', `expected at most numExperts (${m.numExperts}), got ${m.topK}`);
  if (m.numSharedExperts > 0 && m.sharedExpertIntermediateSize === 0) {
    fail('sharedExpertIntermediateSize', `expected a positive size for ${m.numSharedExperts} shared experts, got 0`);
  }
  const denseLayers = m.numLayers - m.moeLayers.length;
  if (denseLayers > 0 && m.denseIntermediateSize === 0) {
    fail('denseIntermediateSize', `expected a positive size since ${denseLayers} layers are dense, got 0`);
  }
  validateAttention(m.attention, (field, message) => fail(`attention.${field}`, message));
}

function validateAttention(a: AttentionShape, fail: (field: string, message: string) => never): void {
  if (a.kind === 'gqa' && a.numHeads % a.numKvHeads !== 0) {
    fail('numKvHeads', `expected a divisor of numHeads (${a.numHeads}), got ${a.numKvHeads}`);
  }
}
