import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { InputError } from '../util/errors.js';
import { zodToInputError } from './errors.js';
import { scenarioSchema, type Scenario } from './schema.js';
import { expandSystem, systemSchema } from '../systems/catalog.js';
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
  return r.data;
}

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0].line;
      throw new InputError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
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
  const x = expandSystem(sys.data, model);
  const out = { ...obj };
  if (out.policies === undefined) out.policies = x.policies;
  if (out.precision === undefined && x.precision) out.precision = x.precision;
  return out;
}
