/**
 * `moesim trace <convert|stats|synth>`: convert routing traces between formats, print or chart
 * their statistics, and synthesize traces shaped like a catalog model or fitted to a real trace.
 */
import { numberOption, numberArrayOption } from './options.js';
import { plural } from '../report/style.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseMapping } from '../trace/mapping.js';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';
import { stageProgress } from '../sweep/progress.js';
import { checkTraceDims } from '../trace/checks.js';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { modelPresets } from '../model/presets.js';
import { numMoeLayers } from '../model/derived.js';
import { createRng } from '../rng/rng.js';
import { CANONICAL_EXTENSION, writeCanonical, writeCanonicalStream } from '../trace/canonical.js';
import { fitTrace, FittedSource } from '../trace/fit.js';
import { displayName } from '../trace/lines.js';
import { readTrace, TRACE_FORMATS, type TraceFormat, type TraceReadOptions } from '../trace/load.js';
import { writeNpy, writeNpz } from '../trace/npy.js';
import { computeTraceStats } from '../trace/stats.js';
import { formatStatsTable, renderStatsHtml, type VegaLibraries } from '../report/trace-stats.js';
import { collectTrace, takeTokens, type TraceStream } from '../trace/stream.js';
import { showTrace } from '../trace/show.js';
import { SyntheticSource, syntheticSpecSchema, type SyntheticSpec } from '../trace/synthetic.js';
import type { Trace } from '../trace/types.js';
import { InputError, oneLine } from '../util/errors.js';
import { unknownNameMessage } from '../util/suggest.js';

interface ReadArgs {
  from?: string;
  layer?: number[];
  topK?: number;
  experts?: number;
  tokensPerSequence?: number;
  weights?: string;
  field?: string[];
  model?: string;
  splitRestarts?: boolean;
  positions?: string;
  dropDegenerate?: boolean;
  mapping?: string;
}

/** Options shared by the commands that read a trace. */
function readOptions<T>(y: Argv<T>): Argv<T & ReadArgs> {
  return y
    .option('from', { type: 'string', describe: `input format: ${TRACE_FORMATS.join(', ')} (npy covers .npz); default: by extension and content` })
    .option('layer', numberArrayOption('layer', { integer: true, min: 0, describe: 'CSV: layer number of each file (default: from the file name, e.g. encoder-layer3.csv)' }))
    .option('top-k', numberOption('top-k', { integer: true, min: 1, describe: 'experts per token per layer (CSV: keep the k largest gate values)' }))
    .option('experts', numberOption('experts', { integer: true, min: 1, describe: 'routed experts per layer (validates the ids; default: max id + 1)' }))
    .option('tokens-per-sequence', numberOption('tokens-per-sequence', { integer: true, min: 1, describe: 'CSV / NumPy: split tokens into sequences of this length' }))
    .option('weights', { type: 'string', describe: 'NumPy: .npy file of gate weights for a .npy experts file' })
    .option('field', { type: 'string', array: true, describe: 'JSONL field mapping, e.g. --field sequence=req_id --field token=token_pos' })
    .option('model', { type: 'string', describe: 'model the trace was recorded on (kept as provenance)' })
    .option('split-restarts', { type: 'boolean', describe: 'JSONL: split a sequence where its token index restarts (default true; --no-split-restarts refuses them as duplicates)' })
    .option('positions', { type: 'string', describe: 'JSONL: "order" numbers the rows of each (sequence, layer) by their order (positions missing or constant)' })
    .option('mapping', { type: 'string', describe: "a YAML/JSON file declaring the recorder's layout (format, layer, sequence, position, experts, weights); see README Traces" })
    .option('drop-degenerate', { type: 'boolean', describe: 'drop warm-up passes (every token one route) and exact repeats of another sequence' }) as unknown as Argv<T & ReadArgs>;
}

function toReadOptions(a: ReadArgs): TraceReadOptions {
  const o: TraceReadOptions = {};
  if (a.from !== undefined) {
    if (!(TRACE_FORMATS as readonly string[]).includes(a.from) && a.from !== 'auto') throw new InputError(`--from: unknown format "${a.from}"; expected ${TRACE_FORMATS.join(', ')}`);
    o.format = a.from as TraceFormat;
  }
  if (a.layer !== undefined) {
    if (a.layer.some((l) => !Number.isInteger(l) || l < 0)) throw new InputError('--layer: expected non-negative integers');
    o.layers = a.layer;
  }
  if (a.topK !== undefined) o.topK = a.topK;
  if (a.experts !== undefined) o.numExperts = a.experts;
  if (a.tokensPerSequence !== undefined) o.tokensPerSequence = a.tokensPerSequence;
  if (a.weights !== undefined) o.weightsPath = a.weights;
  if (a.model !== undefined) o.model = a.model;
  if (a.splitRestarts !== undefined) o.splitRestarts = a.splitRestarts;
  if (a.dropDegenerate !== undefined) o.dropDegenerate = a.dropDegenerate;
  if (a.mapping !== undefined) o.mapping = readMappingFile(a.mapping);
  if (a.positions !== undefined) {
    if (a.positions !== 'order' && a.positions !== 'field') throw new InputError(`--positions: expected "order" or "field", got "${a.positions}"`);
    o.positions = a.positions;
  }
  if (a.field !== undefined) {
    const fields: NonNullable<TraceReadOptions['fields']> = {};
    for (const f of a.field) {
      const m = /^(layer|token|experts|weights|sequence)=(.*)$/.exec(f);
      if (m === null) throw new InputError(`--field ${f}: expected KEY=NAME with KEY one of layer, token, experts, weights, sequence`);
      const [, key, name] = m;
      if (name === '') throw new InputError(`--field ${f}: empty field name`);
      if (key === 'weights') fields.weights = name === 'false' ? false : name;
      else if (key === 'sequence') fields.sequence = name.includes(',') ? name.split(',') : name;
      else fields[key as 'layer' | 'token' | 'experts'] = name;
    }
    o.fields = fields;
  }
  return o;
}

const OUTPUT_FORMATS = [CANONICAL_EXTENSION, '.npz', '.npy'];

function checkOutput(out: string): string {
  const ext = extname(out).toLowerCase();
  if (!OUTPUT_FORMATS.includes(ext)) throw new InputError(`${displayName(out)}: unknown output format "${ext || '(no extension)'}"; use ${OUTPUT_FORMATS.join(', ')}`);
  return ext;
}

/** Write a trace (or a stream) to `out`, the format chosen by the extension. */
async function writeTraceTo(out: string, trace: Trace | TraceStream): Promise<number> {
  const ext = checkOutput(out);
  if (ext === CANONICAL_EXTENSION) {
    if ('nextChunk' in trace) return writeCanonicalStream(trace, out);
    await writeCanonical(trace, out);
    return trace.tokens;
  }
  const t = 'nextChunk' in trace ? collectTrace(trace) : trace;
  if (ext === '.npy' && (t.sequences.length > 1 || t.weights !== undefined)) {
    const lost = [t.sequences.length > 1 ? `the boundaries of its ${t.sequences.length} sequences` : '', t.weights !== undefined ? 'its gate weights' : ''].filter((x) => x !== '').join(' and ');
    throw new InputError(`${displayName(out)}: a .npy file holds the expert ids only, so ${lost} would be lost; write .npz (experts, weights, lengths) or ${CANONICAL_EXTENSION} instead`);
  }
  if (ext === '.npz') await writeNpz(t, out);
  else await writeNpy(t, out);
  return t.tokens;
}

/** "reading a.jsonl (12.3 MB)": the stage line of a trace read (sizes of the files named; folders not summed). */
function readingWhat(input: readonly string[]): string {
  let bytes = 0;
  for (const f of input) {
    try {
      const st = statSync(f);
      if (st.isFile()) bytes += st.size;
    } catch {
      // a missing file is the reader's to report
    }
  }
  const names = input.length > 3 ? `${input.slice(0, 3).map(displayName).join(', ')} and ${input.length - 3} more` : input.map(displayName).join(', ');
  return `reading ${names}${bytes > 0 ? ` (${(bytes / 1e6).toFixed(1)} MB)` : ''}`;
}

function describeTrace(t: Trace): string {
  return `${plural(t.tokens, 'token')}, ${plural(t.sequences.length, 'sequence')}, ${plural(t.numLayers, 'layer')}, ${t.numExperts} experts, top-${t.topK}${t.weights !== undefined ? ', with gate weights' : ''}`;
}

function printWarnings(t: Trace): void {
  for (const w of t.warnings) process.stderr.write(`warning: ${w}\n`);
}

// ---------------------------------------------------------------------------------------------

interface ConvertArgs extends ReadArgs {
  input: string[];
  out: string;
}

const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <input..>',
  describe: `Convert a trace (JSONL, CSV files, .npy/.npz, ${CANONICAL_EXTENSION}) to ${OUTPUT_FORMATS.join(', ')}`,
  builder: (y) =>
    readOptions(y)
      .positional('input', { type: 'string', array: true, demandOption: true, describe: 'trace file, several CSV or JSONL files (e.g. one per layer), or a folder' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: `output file (${OUTPUT_FORMATS.join(', ')})` }) as unknown as Argv<ConvertArgs>,
  handler: async (a) => {
    checkOutput(a.out);
    const stages = stageProgress('trace convert', 2);
    try {
      const trace = await stages.stage(readingWhat(a.input), () => readTrace(a.input, toReadOptions(a)));
      printWarnings(trace);
      await stages.stage(`writing ${displayName(a.out)}`, () => writeTraceTo(a.out, trace));
      process.stdout.write(`wrote ${a.out}: ${describeTrace(trace)}\n`);
    } finally {
      stages.stop();
    }
  },
};

// ---------------------------------------------------------------------------------------------

interface HeadArgs extends ReadArgs {
  input: string[];
  n: number;
  sequence?: string;
}

const headCommand: CommandModule<object, HeadArgs> = {
  command: 'head <input..>',
  aliases: ['show'],
  describe: 'Look inside a trace: its shape and the routes of its first tokens',
  builder: (y) =>
    readOptions(y)
      .positional('input', { type: 'string', array: true, demandOption: true, describe: 'trace file, several CSV or JSONL files, or a folder' })
      .option('n', numberOption('n', { integer: true, min: 1, default: 10, describe: 'tokens to print' }))
      .option('sequence', { type: 'string', describe: 'only this sequence (by id)' }) as unknown as Argv<HeadArgs>,
  handler: async (a) => {
    const trace = await readTrace(a.input, toReadOptions(a));
    printWarnings(trace);
    // An unknown --sequence is refused by showTrace (one line naming the file and its ids).
    process.stdout.write(`${showTrace(trace, { tokens: a.n, sequence: a.sequence }).join('\n')}\n`);
  },
};

// ---------------------------------------------------------------------------------------------

interface StatsArgs extends ReadArgs {
  input: string[];
  json?: boolean;
  html?: string;
}

/** Find `node_modules/<pkg>/<rel>` walking up from this module (works from src/ and dist/). */
export function findPackageFile(pkg: string, rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', pkg, rel);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new InputError(`cannot find ${pkg}/${rel} in node_modules (is moesim installed with its dependencies?)`);
    dir = up;
  }
}

export async function vegaLibraries(): Promise<VegaLibraries> {
  const [vega, vegaLite, vegaEmbed] = await Promise.all([
    readFile(findPackageFile('vega', 'build/vega.min.js'), 'utf8'),
    readFile(findPackageFile('vega-lite', 'build/vega-lite.min.js'), 'utf8'),
    readFile(findPackageFile('vega-embed', 'build/vega-embed.min.js'), 'utf8'),
  ]);
  return { vega, vegaLite, vegaEmbed };
}

const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats <input..>',
  describe: 'Statistics of a trace: popularity, LRU hit-rate curve, locality, layer affinity, gate weights',
  builder: (y) =>
    readOptions(y)
      .positional('input', { type: 'string', array: true, demandOption: true, describe: 'trace file, several CSV files, or a folder' })
      .option('json', { type: 'boolean', describe: 'print the statistics as JSON' })
      .option('html', { type: 'string', describe: 'also write an HTML page with charts (works offline)' }) as unknown as Argv<StatsArgs>,
  handler: async (a) => {
    const stages = stageProgress('trace stats', a.html !== undefined ? 3 : 2);
    let stats;
    try {
      const trace = await stages.stage(readingWhat(a.input), () => readTrace(a.input, toReadOptions(a)));
      stats = await stages.stage('computing statistics', () => computeTraceStats(trace));
      if (a.html !== undefined) {
        const html = await stages.stage('rendering the HTML page', async () =>
          renderStatsHtml(stats!, await vegaLibraries(), `moesim trace stats: ${a.input.map(displayName).join(', ')}`),
        );
        writeFileAtomic(a.html, html);
      }
    } finally {
      stages.stop();
    }
    if (a.json) process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    else process.stdout.write(`${formatStatsTable(stats)}\n`);
    if (a.html !== undefined) process.stderr.write(`wrote ${a.html}\n`);
  },
};

// ---------------------------------------------------------------------------------------------

interface SynthArgs extends ReadArgs {
  modelLike?: string;
  fit?: string[];
  out: string;
  tokens?: number;
  seed: string;
  layers?: number;
  tokensPerSequence?: number;
  zipf?: number;
  locality?: number;
  affinity?: number;
}

const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Synthesize a trace: shaped like a catalog model (--model-like) or fitted to a real trace (--fit)',
  builder: (y) =>
    readOptions(y)
      .option('model-like', { type: 'string', describe: 'catalog model whose shape (MoE layers, experts, top-k) to use' })
      .option('fit', { type: 'string', array: true, describe: 'real trace (file, CSV files or folder) to fit and imitate' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: `output file (${OUTPUT_FORMATS.join(', ')})` })
      .option('tokens', numberOption('tokens', { integer: true, min: 1, describe: 'tokens to generate (default: --fit: 10x the real trace; --model-like: 4096)' }))
      .option('seed', { type: 'string', default: '0', describe: 'random seed' })
      .option('layers', numberOption('layers', { integer: true, min: 1, describe: '--model-like: override the number of MoE layers' }))
      .option('zipf', numberOption('zipf', { min: 0, describe: '--model-like: Zipf exponent of expert popularity (default: uniform)' }))
      .option('locality', numberOption('locality', { min: 0, max: 1, describe: "--model-like: probability of reusing the previous token's expert (default 0)" }))
      .option('affinity', numberOption('affinity', { min: 0, max: 1, describe: "--model-like: probability of following the previous layer's expert (default 0)" }))
      .conflicts('model-like', 'fit')
      .check((a) => {
        if (a.modelLike === undefined && a.fit === undefined) throw new InputError('trace synth: give --model-like MODEL or --fit TRACE');
        return true;
      }) as unknown as Argv<SynthArgs>,
  handler: async (a) => {
    checkOutput(a.out);
    const rng = createRng(a.seed);
    if (a.fit !== undefined) {
      const real = await readTrace(a.fit, toReadOptions(a));
      printWarnings(real);
      const tokens = a.tokens !== undefined ? a.tokens : real.tokens * 10;
      // what is written must be readable back: the same size limit as every trace read
      checkTraceDims('trace synth: --tokens: ', { tokens, layers: real.numLayers, topK: real.topK });
      const model = fitTrace(real, rng.fork('fit'));
      const n = await writeTraceTo(a.out, new FittedSource(model, tokens, rng.fork('generate')));
      const c = model.calibration;
      process.stdout.write(
        `wrote ${a.out}: ${n} tokens fitted to ${a.fit.map(displayName).join(', ')} (${describeTrace(real)}); ` +
          `depth distributions within TV ${c.maxTotalVariation.toFixed(3)}` +
          (c.targetHeldOutRecall !== undefined ? `, layer-to-layer recall ${(100 * (c.heldOutRecall ?? 0)).toFixed(1)}% (real ${(100 * c.targetHeldOutRecall).toFixed(1)}%)` : '') +
          '\n',
      );
      return;
    }
    const name = a.modelLike as string;
    const m = modelPresets[name];
    if (m === undefined) throw new InputError(unknownNameMessage('model', name, Object.keys(modelPresets)));
    const tokens = a.tokens !== undefined ? a.tokens : 4096;
    const tps = a.tokensPerSequence ?? Math.min(tokens, 256);
    const raw = {
      layers: a.layers ?? numMoeLayers(m),
      experts: a.experts ?? m.numExperts,
      topK: a.topK ?? m.topK,
      sequences: Math.ceil(tokens / tps),
      tokensPerSequence: tps,
      popularity: a.zipf !== undefined ? { kind: 'zipf', exponent: a.zipf } : { kind: 'uniform' },
      ...(a.locality !== undefined ? { locality: a.locality } : {}),
      ...(a.affinity !== undefined ? { affinity: a.affinity } : {}),
    };
    // each size named by its own flag; the product (tokens x layers x k) by --tokens
    checkTraceDims('trace synth: --layers: ', { layers: raw.layers, topK: 1 });
    checkTraceDims('trace synth: --top-k: ', { layers: 1, topK: raw.topK });
    checkTraceDims('trace synth: --tokens: ', { tokens, layers: raw.layers, topK: raw.topK });
    const parsed = syntheticSpecSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new InputError(`trace synth: ${i.path.join('.')}: ${i.message}`);
    }
    const spec: SyntheticSpec = parsed.data;
    const src = new SyntheticSource(spec, rng.fork('trace'));
    src.header.source.model = name;
    const n = await writeTraceTo(a.out, takeTokens(src, tokens));
    process.stdout.write(`wrote ${a.out}: ${n} tokens like ${name} (${spec.layers} MoE layers, ${spec.experts} experts, top-${spec.topK}), ${src.header.source.provenance}\n`);
  },
};

export const traceCommand: CommandModule = {
  command: 'trace',
  describe: 'Convert, inspect and synthesize routing traces',
  builder: (y) =>
    y
      .command(convertCommand as unknown as CommandModule)
      .command(statsCommand as unknown as CommandModule)
      .command(synthCommand as unknown as CommandModule)
      .command(headCommand as unknown as CommandModule)
      .demandCommand(1, 'name a trace command: convert, stats or synth'),
  handler: () => undefined,
};

/** `--mapping m.yaml`: the file parsed as YAML (JSON is YAML) and checked by the mapping schema. */
function readMappingFile(path: string): NonNullable<TraceReadOptions['mapping']> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`--mapping: cannot read ${path}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new InputError(`${displayName(path)}: invalid YAML (${oneLine((e as Error).message)})`);
  }
  return parseMapping(doc, displayName(path));
}
