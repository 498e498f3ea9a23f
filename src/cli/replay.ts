import { numberOption } from './options.js';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { checkOutputFile, writeFileAtomic } from '../util/fs.js';
import { InputError } from '../util/errors.js';

/** The backends replay, validate and calibrate run on; the message the README quotes for another. */
export function checkBackend(name: string): true {
  const names = ['cpu', 'webgpu'];
  if (!names.includes(name)) throw new InputError(`unknown backend "${name}"; expected one of: ${names.join(', ')}`);
  return true;
}

/** Flags `replay` and `validate` share. */
export interface ReplayArgs {
  scenario: string;
  backend: string;
  policy?: string[];
  scale?: number;
  hidden?: number;
  intermediate?: number;
  hostBudgetGib: number;
  deviceBudgetGib: number;
  maxTokens?: number;
  warmupSteps: number;
  repeats: number;
  seed?: string;
  json: boolean;
  out?: string;
  diskFile?: string;
}

export function replayOptions<T>(y: Argv<T>): Argv<T & ReplayArgs> {
  return y
    .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file (model, trace, policies)' })
    .option('backend', { type: 'string', default: 'cpu', describe: 'execution backend: cpu (ORT CPU EP) or webgpu (ORT WebGPU EP)' })
    .check((a) => checkBackend(a.backend as string))
    .option('policy', { type: 'string', array: true, describe: "policies to replay: label (as printed) or index in the scenario's list, or a kind only one policy has (default: all)" })
    .option('scale', numberOption('scale', { min: 1, describe: 'divide the model\'s hidden and expert-intermediate sizes by this' }))
    .option('hidden', numberOption('hidden', { integer: true, min: 1, describe: 'hidden size to replay (the intermediate size follows the model\'s ratio unless given)' }))
    .option('intermediate', numberOption('intermediate', { integer: true, min: 1, describe: 'expert intermediate size to replay' }))
    .option('host-budget-gib', numberOption('host-budget-gib', { above: 0, default: 1, describe: 'host memory for all experts\' fp32 weights; the default shape is the largest that fits' }))
    .option('device-budget-gib', numberOption('device-budget-gib', { above: 0, default: 1, describe: 'device memory for the largest expert cache (and a step\'s staging copies)' }))
    .option('max-tokens', numberOption('max-tokens', { integer: true, min: 1, describe: 'use only the first N tokens of the trace' }))
    .option('warmup-steps', numberOption('warmup-steps', { integer: true, min: 0, default: 8, describe: 'steps of the untimed warm-up pass' }))
    .option('repeats', numberOption('repeats', { integer: true, min: 1, default: 3, describe: 'timed passes; a step\'s time is its median over them' }))
    .option('seed', { type: 'string', describe: 'seed of the random weights (default: the scenario seed)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
    .option('out', { type: 'string', describe: 'also write the JSON result to this file' })
    .option('disk-file', { type: 'string', describe: "a storage tier's experts are read from this file (created, then deleted; default in the OS's temporary folder): put it on the disk to measure" }) as unknown as Argv<T & ReplayArgs>;
}

export function setupOptions(a: ReplayArgs) {
  return {
    scenarioFile: a.scenario,
    backend: a.backend,
    policies: a.policy,
    maxTokens: a.maxTokens,
    scale: {
      scale: a.scale,
      hiddenSize: a.hidden,
      intermediateSize: a.intermediate,
      hostBudgetBytes: a.hostBudgetGib * 2 ** 30,
      deviceBudgetBytes: a.deviceBudgetGib * 2 ** 30,
    },
  };
}

const progress = (m: string) => process.stderr.write(`  ${m}\n`);

export const replayCommand: CommandModule<object, ReplayArgs> = {
  command: 'replay <scenario>',
  describe: "Execute the scenario's model (scaled to fit) on a real backend, following the trace, with a real expert cache driven by each policy; measure per-token and per-layer time, hits, bytes",
  builder: (y) => replayOptions(y),
  handler: async (a) => {
    // ONNX Runtime is slow to load: only these commands import it.
    const { setupReplay } = await import('../calibrate/replay-setup.js');
    const { replay } = await import('../calibrate/replay.js');
    const { profileCosts } = await import('../calibrate/validate.js');
    const { describeScaled } = await import('../calibrate/scale.js');
    const { formatReplay } = await import('../report/validate.js');
    if (a.out) checkOutputFile(path.resolve(a.out));
    const setup = await setupReplay(setupOptions(a));
    const description = describeScaled(setup.scaled, setup.prep.model);
    progress(`backend ${setup.backend.name}: ${setup.backend.device}`);
    progress(`model: ${description}`);
    try {
      const r = await replay({
        backend: setup.backend,
        scenario: setup.loaded.scenario,
        prep: setup.prep,
        policies: setup.policies,
        shape: setup.scaled.shape,
        warmupSteps: a.warmupSteps,
        repeats: a.repeats,
        seed: a.seed,
        progress,
        predictors: setup.predictors,
        // Decisions from time estimates (onMiss: cpu) and a serving scheduler's steps: planned on the scenario's hardware.
        recordCosts: profileCosts(setup.scaled, setup.prep.hardware),
        ...(a.diskFile ? { diskFile: path.resolve(a.diskFile) } : {}),
      });
      const json = JSON.stringify({ scenario: setup.loaded.scenario.name, model: description, ...r }, null, 2) + '\n';
      if (a.out) writeFileAtomic(path.resolve(a.out), json);
      process.stdout.write(a.json ? json : formatReplay(r, { scenario: setup.loaded.scenario.name, scaledDescription: description, warnings: [...new Set(setup.prep.warnings)] }) + '\n');
    } finally {
      await setup.backend.close();
    }
  },
};
