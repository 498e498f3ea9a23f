/** `moesim init`: a commented starter scenario for a catalog model on a catalog GPU. */
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { hardwarePresets } from '../hardware/presets.js';
import { numMoeLayers } from '../model/derived.js';
import { modelPresets } from '../model/presets.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

interface InitArgs {
  file: string;
  model: string;
  hardware: string;
  force: boolean;
}

/** The shipped JSON Schema, relative to the scenario's folder (editors resolve it from there). */
function schemaRef(file: string): string {
  const shipped = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schema/scenario.schema.json');
  const rel = relative(dirname(resolve(file)), shipped).split('\\').join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export function starterScenario(o: { name: string; model: string; hardware: string; schema: string }): string {
  const m = modelPresets[o.model];
  const h = hardwarePresets[o.hardware];
  if (!m) throw new InputError(`--model ${o.model}: no such model; moesim presets lists ${Object.keys(modelPresets).join(', ')}`);
  if (!h) throw new InputError(`--hardware ${o.hardware}: no such hardware; moesim presets lists ${Object.keys(hardwarePresets).join(', ')}`);
  const half = Math.max(1, Math.floor(m.numExperts / 2));
  return `# yaml-language-server: $schema=${o.schema}
# A starter moesim scenario (moesim init): ${o.model} on ${h.gpu.name}.
# Run it:      moesim run ${o.name}.yaml            # table on stdout, report in reports/${o.name}/run/
# Sweep it:    moesim sweep ${o.name}.yaml --set 'policies[*].cache.perLayer=1,2,4'
# Presets:     moesim presets (models, hardware, policies); the README documents every field.
name: ${o.name}
description: Caching policies for ${o.model} on ${o.hardware}, ${half} of ${m.numExperts} experts per layer on the GPU
seed: 1
model: ${o.model}          # a catalog model, or { preset: ..., numLayers: ... } / a full definition
hardware: ${o.hardware}    # a catalog GPU + link + CPU, or { preset: ..., link: { bandwidthGBps: 32 } }
precision:
  experts: int4        # how routed experts are stored: fp32, bf16, fp16, fp8, int8, int4, int2
  dense: bf16          # attention, shared experts, embeddings
# Routing: a recorded trace ({ path: traces/....jsonl }) or a synthetic one shaped like the model.
trace:
  synthetic:
    layers: ${numMoeLayers(m)}
    experts: ${m.numExperts}
    topK: ${m.topK}
    sequences: 4
    tokensPerSequence: 128
    popularity: { kind: zipf, exponent: 0.8 }   # skewed expert popularity
    locality: 0.3      # chance a token reuses the previous token's expert
    affinity: 0.3      # chance a layer follows the previous layer's expert
workload:
  batchSize: 1
  promptTokens: 0
# Policies to compare; each row of the table and bar of the report is one of these.
policies:
  - kind: none                       # every expert fetched on use: the floor
  - kind: lru
    cache: { perLayer: ${half} }
  - kind: lfu
    cache: { perLayer: ${half} }
  - kind: belady                     # offline optimum at the same capacity: a bound
    cache: { perLayer: ${half} }
  - kind: all-on-gpu                 # everything resident: a bound (may not fit)
`;
}

export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init [file]',
  describe: 'Write a commented starter scenario (a catalog model on a catalog GPU, a synthetic trace, five policies)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', default: 'scenario.yaml', describe: 'scenario file to write' })
      .option('model', { type: 'string', default: 'mixtral-8x7b', describe: 'catalog model (moesim presets)' })
      .option('hardware', { type: 'string', default: 'rtx-4090', describe: 'catalog hardware (moesim presets)' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite the file if it exists' }) as never,
  handler: (a) => {
    if (existsSync(a.file) && !a.force) throw new InputError(`${a.file}: exists; give --force to overwrite, or another file name`);
    const name = a.file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '') || 'scenario';
    writeFileAtomic(a.file, starterScenario({ name, model: a.model, hardware: a.hardware, schema: schemaRef(a.file) }));
    process.stdout.write(`wrote ${a.file}: ${a.model} on ${a.hardware}; run it with moesim run ${a.file}\n`);
  },
};
