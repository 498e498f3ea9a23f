import { readFileSync, statSync } from 'node:fs';
import { fsInputError } from '../util/fs.js';
import { dirname, resolve } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { InputError } from '../util/errors.js';
import { zodToInputError } from './errors.js';
import { scenarioSchema, type Scenario } from './schema.js';
import { expandSystem, formatPrecision, systemSchema } from '../systems/catalog.js';
import { precisionBytesPerParam, tierLabel, type TieredPrecision, type TierPrecision } from '../model/formats.js';
import type { WeightFormatName } from '../timing/execution-semantics.js';
import { resolveModel } from '../model/resolve.js';

export interface LoadedScenario {
  scenario: Scenario;
  /** The YAML as parsed, before validation (sweeps expand this). */
  raw: unknown;
  file: string;
  /** Relative paths in the scenario (the trace) resolve against this folder. */
  baseDir: string;
}

/** Validates a parsed scenario object; errors name the file and the field path. */
export function parseScenario(raw: unknown, file?: string): Scenario {
  const r = scenarioSchema.safeParse(withSystem(raw, file));
  if (!r.success) throw zodToInputError(r.error, raw, file);
  checkSystemPrecision(raw, r.data, file);
  return r.data;
}

/**
 * `system.quantization` and `precision.experts` both say how the experts are stored; the sizes come
 * from `precision:` and the system's dequantisation from its format, so given together they must
 * agree on the experts' bytes per weight (fp16 and bf16 agree; `precision.dense`, `kvCache` refine).
 */
function checkSystemPrecision(raw: unknown, scenario: Scenario, file?: string): void {
  const obj = raw as Record<string, unknown>;
  const sys = obj.system as Record<string, unknown> | undefined;
  const prec = obj.precision as Record<string, unknown> | undefined;
  if (!sys || typeof sys !== 'object' || !prec || typeof prec !== 'object' || prec.experts === undefined) return;
  const quantization = (scenario.system as { quantization?: WeightFormatName } | undefined)?.quantization;
  if (quantization === undefined) return;
  // A kind's default format counts as given: its dequantisation would be charged on experts
  // that precision.experts sizes otherwise.
  const given = sys.quantization !== undefined ? 'system.quantization' : `system.quantization (the default of system kind ${String(sys.kind)})`;
  const model = resolveModel(obj.model, 'model');
  const theirs = formatPrecision(quantization) as unknown as TieredPrecision;
  const want = precisionBytesPerParam(theirs, 'experts', model);
  const got = precisionBytesPerParam(scenario.precision as TieredPrecision, 'experts', model);
  if (Math.abs(got - want) <= 1e-9 * want) return;
  const bits = (b: number) => `${(b * 8).toFixed(3).replace(/\.?0+$/, '')} bits per weight`;
  throw new InputError(
    `${file ? file + ': ' : ''}precision.experts: ${tierLabel(scenario.precision.experts as TierPrecision)} (${bits(got)}) conflicts with ${given}: ${quantization} (experts ${tierLabel(theirs.experts)}, ${bits(want)}); expected precision.experts to agree with it (${tierLabel(theirs.experts)}), or ${sys.quantization !== undefined ? 'only one of the two' : 'system.quantization set to the format of those experts'}`,
  );
}

/** Scenario files are hand-written: 1 MiB is far more than any real one (a 15 MB file is a mistake or an attack). */
export const MAX_YAML_BYTES = 1 << 20;
/**
 * Aliases a scenario may resolve (the yaml library's default, 100, is below what real files with
 * shared policy blocks use); a billion-laughs file still stops far below any memory trouble.
 */
export const MAX_YAML_ALIASES = 10_000;

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(`${file}: not a regular file (${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe' : 'a device or socket'}); expected a scenario YAML file`);
    if (st.size > MAX_YAML_BYTES) throw new InputError(`${file}: ${st.size.toLocaleString('en-US')} bytes, more than the limit of ${MAX_YAML_BYTES.toLocaleString('en-US')} for a scenario file`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fsInputError(e, 'read', file);
  }
  try {
    // logLevel error: no Node warnings on stderr (a collection used as a key is refused by the schema)
    return parse(text, { maxAliasCount: MAX_YAML_ALIASES, logLevel: 'error' });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0].line;
      throw new InputError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
    if (e instanceof Error && /alias/i.test(e.message)) {
      throw new InputError(`${file}: YAML aliases expand to too many nodes (more than ${MAX_YAML_ALIASES.toLocaleString('en-US')} alias resolutions: a "billion laughs" file?); expected fewer or smaller aliased blocks`);
    }
    throw e;
  }
}

export function loadScenarioFile(file: string): LoadedScenario {
  const raw = readYamlFile(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(`${file}: expected a YAML mapping (name, model, hardware, trace, policies, ...)`);
  }
  return { scenario: parseScenario(raw, file), raw, file, baseDir: dirname(resolve(file)) };
}

/**
 * A scenario with `system:` gets that system's policies and precision where it gives none of its
 * own (src/systems/catalog.ts). The model must resolve to size them; errors name `system.<field>`.
 */
function withSystem(raw: unknown, file?: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('system' in raw)) return raw;
  const obj = raw as Record<string, unknown>;
  const sys = systemSchema.safeParse(obj.system);
  if (!sys.success) {
    const inner = zodToInputError(sys.error, obj.system).message.replace(/^\(top level\)/, '');
    throw new InputError(`${file ? file + ': ' : ''}system${inner.startsWith(':') ? '' : '.'}${inner}`);
  }
  let model;
  try {
    model = resolveModel(obj.model, 'model');
  } catch {
    return raw; // the scenario schema reports the model
  }
  let x;
  try {
    x = expandSystem(sys.data, model);
  } catch (e) {
    if (e instanceof InputError && file && !e.message.startsWith(`${file}:`)) throw new InputError(`${file}: ${e.message}`);
    throw e;
  }
  const out = { ...obj };
  if (out.policies === undefined) out.policies = x.policies;
  if (out.precision === undefined && x.precision) out.precision = x.precision;
  // a precision: without experts or dense keeps the system's for them, not the bf16 defaults
  // (mixtral-offloading's HQQ 4-bit attention stays so under `precision: { kvCache: fp16 }`)
  else if (x.precision && out.precision !== null && typeof out.precision === 'object' && !Array.isArray(out.precision)) {
    const given = out.precision as Record<string, unknown>;
    out.precision = { ...(!('experts' in given) ? { experts: x.precision.experts } : {}), ...(!('dense' in given) && x.precision.dense !== undefined ? { dense: x.precision.dense } : {}), ...given };
  }
  return out;
}
