/**
 * The scenario's `trace:` field and loading it: a file (JSONL, canonical, dense-gate CSV, NumPy),
 * several CSV files or a folder of them (one per layer), or a synthetic generator.
 *
 * ```yaml
 * trace: { path: ../traces/mixtral-8x7b-instruct/humaneval-decode.jsonl }
 * trace: { path: ../traces/flame-moe-290m, tokensPerSequence: 64 }       # a folder of CSVs
 * trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 4, tokensPerSequence: 256,
 *                       popularity: { kind: zipf, exponent: 1.1 }, locality: 0.3 } }
 * ```
 * Relative paths resolve against the scenario file's folder. Format `auto` (the default) goes by
 * the extension and checks the content; a mismatch or an unknown extension with unrecognisable
 * content is an error that says which format to set.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { compressionOf, decompressToTemp, innerExtension, readHead, requireReadable } from './compressed.js';
import { z } from 'zod';
import type { Rng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import { CANONICAL_EXTENSION, CANONICAL_MAGIC, readCanonical } from './canonical.js';
import { importGateCsv } from './csv.js';
import { importJsonl, type JsonlFieldMap } from './jsonl.js';
import { displayName, wrapFsError } from './lines.js';
import { importNpy, importNpz } from './npy.js';
import { checkDegenerate } from './degenerate.js';
import { MISSING_LAYERS_MODES } from './layer-subset.js';
import { generateSyntheticTrace, syntheticSpecSchema } from './synthetic.js';
import { importParquet } from './parquet.js';
import { importSafetensors } from './safetensors.js';
import { importPt } from './pt.js';
import { importExpertJson, looksLikeExpertJson } from './expert-json.js';
import { importSglang, looksLikeSglang } from './sglang.js';
import { importMoeBeyond, MOE_BEYOND_HEADER } from './moe-beyond.js';
import { importMapped, traceMappingSchema } from './mapping.js';
import type { Trace } from './types.js';
import { checkReadBack, TraceLimitError } from './checks.js';

/**
 * The formats table: every importer moesim has, by its `format:` name. `parquet`: FLAME-MoE-Traces layer
 * files; `expert-json`: the per-query JSON of arXiv 2510.05497; `sglang`: SGLang's routed experts responses;
 * `moe-beyond`: MoE-Beyond's per-prompt CSV; `safetensors`: Hugging Face tensor dumps of router ids or logits; `pt`: the same in a torch.save file. Each importer's file cites the schema it reads.
 */
export const TRACE_FORMATS = ['jsonl', 'moesim', 'csv', 'npy', 'parquet', 'expert-json', 'sglang', 'moe-beyond', 'safetensors', 'pt'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

export const jsonlFieldsSchema = z.strictObject({
  layer: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  experts: z.string().min(1).optional(),
  /** false: ignore the weights. */
  weights: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** Field(s) whose values, joined by "/", name a sequence. */
  sequence: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});

const positiveInt = z.number().int().positive();

export const fileTraceSpecSchema = z.strictObject({
  /** A file, several files (CSV or JSONL: e.g. one per layer), or a folder of them. */
  path: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'expected a file or folder path, or a list of CSV paths' }),
  /** File format; `npy` covers .npy and .npz. */
  format: z.enum(['auto', ...TRACE_FORMATS]).optional(),
  /** JSONL field names (default: auto-detected). */
  fields: jsonlFieldsSchema.optional(),
  /** CSV / JSONL: the layer number of a single file (else from the file name). */
  layer: z.number().int().nonnegative().optional(),
  /** CSV / JSONL: the layer number of each file, in path order (JSONL: overrides the rows' layer field). */
  layers: z.array(z.number().int().nonnegative()).min(1).optional(),
  /** Experts per token per layer (CSV: take the k largest; JSONL: validate). */
  topK: positiveInt.optional(),
  /** Routed experts per layer (validates the ids; default: max id + 1). */
  numExperts: positiveInt.max(65535).optional(),
  /** MoE layers (JSONL: validates the layer ids; default: max + 1). */
  numLayers: positiveInt.max(65535).optional(),
  /** CSV / NumPy: split the tokens into sequences of this length. */
  tokensPerSequence: positiveInt.optional(),
  /** NumPy: a separate .npy of gate weights for a .npy experts file. */
  weightsPath: z.string().min(1).optional(),
  /** Model the trace was recorded on (free text). */
  model: z.string().min(1).optional(),
  /** JSONL: split a sequence where its token index restarts (default true). */
  splitRestarts: z.boolean().optional(),
  /** JSONL: `order` numbers the rows of each (sequence, layer) by their order (positions missing or constant). */
  positions: z.enum(['field', 'order']).optional(),
  /** Drop warm-up passes (every token one route) and exact repeats of another sequence. */
  dropDegenerate: z.boolean().optional(),
  /** A recorder's own layout, declared: where sequence, position, layer, ids and weights are (src/trace/mapping.ts). */
  mapping: traceMappingSchema.optional(),
  /** A trace of some of the model's MoE layers: `fill` draws the others from the recorded layers' statistics. */
  missingLayers: z.enum(MISSING_LAYERS_MODES).optional(),
});

export const syntheticTraceSpecSchema = z.strictObject({ synthetic: syntheticSpecSchema });

export type FileTraceSpec = z.infer<typeof fileTraceSpecSchema>;
export type SyntheticTraceSpec = z.infer<typeof syntheticTraceSpecSchema>;
export type TraceSpec = FileTraceSpec | SyntheticTraceSpec;

/**
 * The scenario's `trace:` field: `{synthetic: ...}` or `{path: ...}`. The variant is chosen by the
 * presence of `synthetic`, so errors name the offending field (`trace.synthetic.topK: ...`) instead
 * of a generic "invalid union".
 */
export const traceSpecSchema = z.unknown().transform((value, ctx): TraceSpec => {
  const synthetic = typeof value === 'object' && value !== null && !Array.isArray(value) && 'synthetic' in value;
  const r = synthetic ? syntheticTraceSpecSchema.safeParse(value) : fileTraceSpecSchema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const message = typeof value !== 'object' || value === null ? 'expected {path: ...} or {synthetic: {...}}' : issue.message;
    ctx.addIssue({ code: 'custom', message, path: issue.path as PropertyKey[] as (string | number)[], input: value });
  }
  return z.NEVER;
});

/** Options for reading trace files (the file spec without `path`). */
export type TraceReadOptions = Omit<FileTraceSpec, 'path'> & {
  fields?: JsonlFieldMap;
  /** The scenario model's expert count: importers that read row by row refuse an id beyond it at its line (the trace keeps its own numExperts). */
  modelExperts?: number;
  /** SGLang: the scenario model's top-k and transformer layers, used when topK / numLayers are not given. */
  modelTopK?: number;
  modelHiddenLayers?: number;
};

/** What the scenario knows of the trace before reading it: the model's expert count, for errors at the file's line. */
export interface TraceCheck {
  modelExperts?: number;
  /** The model's top-k and transformer layer count: what a flat SGLang routed_experts payload needs when the trace field does not say. */
  modelTopK?: number;
  modelHiddenLayers?: number;
}

/** Load the trace a scenario asks for; relative paths resolve against `baseDir`. */
export async function loadTrace(spec: TraceSpec, baseDir: string, rng: Rng, check: TraceCheck = {}): Promise<Trace> {
  if ('synthetic' in spec) return generateSyntheticTrace(spec.synthetic, rng);
  const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map((p) => (isAbsolute(p) ? p : resolve(baseDir, p)));
  const opts: TraceReadOptions = { ...spec };
  if (check.modelExperts !== undefined) opts.modelExperts = check.modelExperts;
  if (check.modelTopK !== undefined) opts.modelTopK = check.modelTopK;
  if (check.modelHiddenLayers !== undefined) opts.modelHiddenLayers = check.modelHiddenLayers;
  delete (opts as { path?: unknown }).path;
  if (opts.weightsPath !== undefined && !isAbsolute(opts.weightsPath)) opts.weightsPath = resolve(baseDir, opts.weightsPath);
  // a missing file is named by its field, as the scenario wrote it
  const given = Array.isArray(spec.path) ? spec.path : [spec.path];
  for (let i = 0; i < paths.length; i++) {
    if (!existsSync(paths[i])) throw new InputError(`trace.path${Array.isArray(spec.path) ? `[${i}]` : ''}: no such file: ${given[i]}${isAbsolute(given[i]) ? '' : ` (resolved against ${baseDir})`}`);
  }
  if (opts.weightsPath !== undefined && !existsSync(opts.weightsPath)) throw new InputError(`trace.weightsPath: no such file: ${spec.weightsPath}`);
  return readTrace(paths, opts);
}

const EXTENSIONS: Record<string, TraceFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  [CANONICAL_EXTENSION]: 'moesim',
  '.csv': 'csv',
  '.npy': 'npy',
  '.npz': 'npy',
  '.parquet': 'parquet',
  '.safetensors': 'safetensors',
  '.pt': 'pt',
  '.pth': 'pt',
};

/** Files a folder is read for: the known extensions, and .json (the content says which JSON format). */
const FOLDER_EXTENSIONS = new Set([...Object.keys(EXTENSIONS), '.json']);

/** What the content may refine an extension to: a .csv of MoE-Beyond, a .jsonl of SGLang responses. */
const REFINES: Partial<Record<TraceFormat, TraceFormat[]>> = { csv: ['moe-beyond'], jsonl: ['sglang'] };

/** What the first bytes of a file look like, or undefined. */
export async function sniffFormat(path: string): Promise<TraceFormat | undefined> {
  // decompressed: a .jsonl.gz is sniffed as JSON lines (a zstd file is refused here, by name)
  const head = await readHead(path, 4096, displayName(path)).catch((e: unknown) => {
    throw wrapFsError(e, displayName(path));
  });
  if (head.subarray(0, 6).equals(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))) return 'npy';
    if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    // a zip: torch.save writes "<name>/data.pkl" first, an .npz holds .npy entries
    const nameLen = head.length >= 30 ? head.readUInt16LE(26) : 0;
    return /(^|\/)data\.pkl$/.test(head.toString('utf8', 30, Math.min(head.length, 30 + nameLen))) ? 'pt' : 'npy';
  }
    if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  // safetensors: a u64 header length (at most 100 MB: its top bytes are 0), then the JSON header's "{"
  if (head.length >= 10 && head[8] === 0x7b && head[5] === 0 && head[6] === 0 && head[7] === 0 && /^\{\s*("|\})/.test(head.toString('latin1', 8, Math.min(head.length, 16)))) return 'safetensors';
    const text = head.toString('utf8').replace(/^\uFEFF/, '');
    if (text.startsWith(CANONICAL_MAGIC) || text.startsWith('# moesim-trace')) return 'moesim';
    const first = text.split('\n', 1)[0].trim();
    if (looksLikeExpertJson(text)) return 'expert-json';
    if (first.startsWith('{') && looksLikeSglang(first)) return 'sglang';
    if (text.trimStart().startsWith('[') && looksLikeSglang(text)) return 'sglang';
    if (first === MOE_BEYOND_HEADER) return 'moe-beyond';
    if (first.startsWith('{')) return 'jsonl';
    if (/(^|,)\s*token(_id)?\s*(,|$)/.test(first) && /(^|,)\s*expert_?0\s*(,|$)/.test(first)) return 'csv';
    return undefined;
}

/** The format of a file: `format` if given and not auto, else by extension checked against the content. */
export async function detectFormat(path: string, format: 'auto' | TraceFormat = 'auto'): Promise<TraceFormat> {
  if (format !== 'auto') return format;
  const file = displayName(path);
  const byExt = EXTENSIONS[innerExtension(path)];
  const byContent = await sniffFormat(path);
  const known = TRACE_FORMATS.join(', ');
  if (byExt !== undefined && byContent !== undefined && byExt !== byContent && !REFINES[byExt]?.includes(byContent)) {
    throw new InputError(`${file}: the extension says ${byExt} but the content looks like ${byContent}; set format: ${byContent} (or ${byExt}) to say which`);
  }
  if (byExt !== undefined && byContent !== undefined && REFINES[byExt]?.includes(byContent)) return byContent;
  const f = byExt ?? byContent;
  if (f === undefined) {
    throw new InputError(`${file}: cannot tell the trace format (extension "${extname(path) || '(none)'}", unrecognised content); set format: ${known}`);
  }
  return f;
}

/** Formats whose trace is one file. */
const ONE_FILE: TraceFormat[] = ['moesim', 'npy', 'safetensors', 'pt'];

/** Read a trace from one file, several CSV files, or a folder of CSV files. */
export async function readTrace(pathOrPaths: string | string[], opts: TraceReadOptions = {}): Promise<Trace> {
  let paths = Array.isArray(pathOrPaths) ? pathOrPaths : [pathOrPaths];
  /** Set when the trace is a folder: files of another format in it (a README.json, a config) are left out with a warning. */
  let fromFolder: string | undefined;
  const leftOut: string[] = [];
  if (paths.length === 1) {
    const st = await stat(paths[0]).catch((e: unknown) => {
      throw wrapFsError(e, displayName(paths[0]));
    });
    if (st.isDirectory()) {
      const dir = paths[0];
      // recursive: a dataset's subject folders (profiling_result/<model>/<benchmark>/<subject>/<n>.json)
      const wanted = opts.mapping !== undefined ? new Set([`.${opts.mapping.format}`]) : FOLDER_EXTENSIONS;
      const names = (await readdir(dir, { recursive: true })).filter((n) => wanted.has(innerExtension(n))).sort(naturalCompare);
      if (names.length === 0) throw new InputError(`${displayName(dir)}: no trace files in this folder (expected .jsonl, ${CANONICAL_EXTENSION}, .csv, .npy, .npz, .parquet, .safetensors, .pt or .json, plain or .gz)`);
      paths = names.filter((n) => !n.split(/[\\/]/).some((part) => part.startsWith('.'))).map((n) => join(dir, n));
      fromFolder = displayName(dir);
    }
  }
  for (const p of paths) await requireRegularFile(p);
  if (opts.mapping !== undefined) {
    let t = await importMapped(paths, opts.mapping, { topK: opts.topK, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
    if (t.sequences.length > 1) t = checkDegenerate(t, opts.dropDegenerate ?? false);
    if (opts.missingLayers !== undefined) t.missingLayers = opts.missingLayers;
    checkReadBack(t, displayName(paths[0]));
    return t;
  }
  let formats: (TraceFormat | undefined)[] = await Promise.all(
    paths.map((p) =>
      fromFolder !== undefined && paths.length > 1 ? detectFormat(p, opts.format ?? 'auto').catch((e: unknown) => (e instanceof InputError ? undefined : Promise.reject(e))) : detectFormat(p, opts.format ?? 'auto'),
    ),
  );
  if (fromFolder !== undefined && paths.length > 1) {
    // In a folder, a .json is a trace only as a JSON format of its own (expert-json, sglang): one that reads as JSON lines is a document (metadata, a config).
    formats = formats.map((f, i) => (f === 'jsonl' && innerExtension(paths[i]) === '.json' ? undefined : f));
    // A folder's trace is its files of the most common format; the others are named and left out.
    const count = new Map<TraceFormat, number>();
    for (const f of formats) if (f !== undefined) count.set(f, (count.get(f) ?? 0) + 1);
    const major = [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (major === undefined) throw new InputError(`${fromFolder}: no file in this folder is a trace moesim can read; set format: ${TRACE_FORMATS.join(', ')}`);
    const keep = formats.map((f) => f === major);
    for (let i = 0; i < paths.length; i++) if (!keep[i]) leftOut.push(displayName(paths[i]));
    paths = paths.filter((_, i) => keep[i]);
    formats = formats.filter((_, i) => keep[i]);
  }
  const format = formats[0]!;
  if (paths.length > 1) {
    const other = formats.findIndex((f) => f !== format);
    if (other >= 0) throw new InputError(`${displayName(paths[other])} is ${formats[other]} but ${displayName(paths[0])} is ${format}; a multi-file trace has one format`);
    if (ONE_FILE.includes(format)) throw new InputError(`${paths.map(displayName).join(', ')}: a ${format} trace is one file; only ${TRACE_FORMATS.filter((f) => !ONE_FILE.includes(f)).join(', ')} traces (e.g. one file per layer or per query) can span several files`);
  }
  const layers = opts.layers ?? (opts.layer !== undefined ? [opts.layer] : undefined);
  let trace: Trace;
  try {
    trace = await readFormat(format, paths, opts, layers);
  } catch (e) {
    // a size limit found by the shared builder, which does not know the file
    if (e instanceof TraceLimitError && !e.message.startsWith(displayName(paths[0]))) throw new InputError(`${displayName(paths[0])}: ${e.message}`);
    throw e;
  }
  if (opts.numExperts !== undefined && trace.numExperts > opts.numExperts) {
    throw new InputError(`${displayName(paths[0])}: expert ids up to ${trace.numExperts - 1}, but numExperts is ${opts.numExperts}`);
  }
  if (opts.numExperts !== undefined) trace.numExperts = opts.numExperts;
  if (leftOut.length > 0) {
    trace.warnings.push(`${fromFolder}: ${leftOut.length} file${leftOut.length === 1 ? '' : 's'} of another format left out of the trace (${leftOut.slice(0, 3).join(', ')}${leftOut.length > 3 ? ', ...' : ''})`);
  }
  // never hand on (or write) a trace moesim could not read back
  checkReadBack(trace, displayName(paths[0]));
  return trace;
}

async function readFormat(format: TraceFormat, paths: string[], opts: TraceReadOptions, layers: number[] | undefined): Promise<Trace> {
  let trace: Trace;
  switch (format) {
    case 'jsonl':
      trace = await importJsonl(paths, {
        fields: opts.fields,
        numLayers: opts.numLayers,
        numExperts: opts.numExperts,
        modelExperts: opts.modelExperts,
        topK: opts.topK,
        model: opts.model,
        fileLayers: layers !== undefined && layers.length === paths.length ? layers : undefined,
        splitRestarts: opts.splitRestarts,
        positions: opts.positions,
      });
      break;
    case 'moesim':
      trace = await readCanonical(paths[0], { modelExperts: opts.modelExperts });
      if (opts.model !== undefined) trace.source.model = opts.model;
      break;
    case 'csv':
      trace = await importGateCsv(paths, { layers, topK: opts.topK, tokensPerSequence: opts.tokensPerSequence, model: opts.model, modelExperts: opts.modelExperts });
      break;
    case 'parquet':
      trace = await importParquetMaybeGz(paths, { layers: layers !== undefined && layers.length === paths.length ? layers : undefined, tokensPerSequence: opts.tokensPerSequence, topK: opts.topK, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'expert-json':
      trace = await importExpertJson(paths, { topK: opts.topK, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'sglang':
      trace = await importSglang(paths, { topK: opts.topK ?? opts.modelTopK, numLayers: opts.numLayers ?? opts.modelHiddenLayers, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'moe-beyond':
      trace = await importMoeBeyond(paths, { topK: opts.topK, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'safetensors':
      trace = await importSafetensors(paths[0], { topK: opts.topK, modelTopK: opts.modelTopK, tokensPerSequence: opts.tokensPerSequence, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'pt':
      trace = await importPt(paths[0], { topK: opts.topK, modelTopK: opts.modelTopK, tokensPerSequence: opts.tokensPerSequence, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model });
      break;
    case 'npy': {
      const npyOpts = { weightsPath: opts.weightsPath, tokensPerSequence: opts.tokensPerSequence, numExperts: opts.numExperts, modelExperts: opts.modelExperts, model: opts.model };
      trace = (await isZipFile(paths[0])) ? await importNpz(paths[0], npyOpts) : await importNpy(paths[0], npyOpts);
      break;
    }
  }
  if (trace.sequences.length > 1) trace = checkDegenerate(trace, opts.dropDegenerate ?? false);
  if (opts.missingLayers !== undefined) trace.missingLayers = opts.missingLayers;
  return trace;
}

/** A trace must be a regular file: a pipe or a device would block or cannot be read twice. */
async function requireRegularFile(path: string): Promise<void> {
  const st = await stat(path).catch((e: unknown) => {
    throw wrapFsError(e, displayName(path));
  });
  if (!st.isFile()) throw new InputError(`${displayName(path)}: not a regular file (${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe' : 'a device or socket'}); give a trace file`);
}

async function isZipFile(path: string): Promise<boolean> {
  const b = await readHead(path, 4, displayName(path)).catch((e: unknown) => {
    throw wrapFsError(e, displayName(path));
  });
  return b.length === 4 && b.readUInt32LE(0) === 0x04034b50;
}

/**
 * Parquet is read by random access (footer first): a gzip-compressed Parquet file is decompressed,
 * streaming, to a temporary file of the same name less ".gz", read, and removed.
 */
async function importParquetMaybeGz(paths: string[], opts: Parameters<typeof importParquet>[1]): Promise<Trace> {
  const temps: { path: string; cleanup: () => Promise<void> }[] = [];
  try {
    const real: string[] = [];
    for (const p of paths) {
      let c;
      try {
        c = compressionOf(p);
      } catch (e) {
        throw wrapFsError(e, displayName(p));
      }
      requireReadable(c, displayName(p));
      if (c === 'gzip') {
        const t = await decompressToTemp(p, displayName(p));
        temps.push(t);
        real.push(t.path);
      } else real.push(p);
    }
    const trace = await importParquet(real, opts);
    if (temps.length > 0) trace.source.path = paths.length === 1 ? paths[0] : paths.join(',');
    return trace;
  } finally {
    for (const t of temps) await t.cleanup();
  }
}

/** "layer2" < "layer10". */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
