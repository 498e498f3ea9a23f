import { numberOption } from './options.js';
import { checkOutputFile } from '../util/fs.js';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { checkBackend } from './replay.js';
import { createProgress } from '../sweep/progress.js';
import type { MicrobenchPlan } from '../calibrate/microbench.js';

/**
 * Calibration progress on stderr: its measurements as plain lines (not a terminal), or a
 * cli-progress bar over the plan's measurements with the latest one as its message (a terminal).
 * The bar's total is the plan's count of measurements (a shape stops growing tokens early when one
 * run exceeds the plan's maxRunSec, so the bar may jump at the end).
 */
export function calibrateProgress(
  plan: MicrobenchPlan,
  backend: string,
  stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean } = process.stderr,
): { message: (m: string) => void; stop: (finished?: boolean) => void } {
  if ((stream as NodeJS.WriteStream).isTTY !== true) return { message: (m) => stream.write(`  ${m}\n`), stop() {} };
  const tokenCounts = Math.floor(Math.log2(plan.maxTokens)) + 1;
  const expert = plan.shapes.length * tokenCounts;
  // backend line, launch, uploads, expert runs; on a GPU backend also the host CPU's expert runs
  const total = 2 + plan.transferBytes.length + expert + (backend === 'cpu' ? 0 : 1 + expert);
  const bar = createProgress(stream, { label: 'calibrate', unit: 'measurements' });
  bar.start(total, 0);
  let done = 0;
  return {
    message: (m) => bar.update(Math.min(++done, total - 1), m),
    stop: (finished = true) => {
      if (finished) bar.update(total);
      bar.stop();
    },
  };
}

export interface CalibrateArgs {
  backend: string;
  file?: string;
  model?: string;
  experts?: string;
  scenario?: string;
  maxReads?: number;
  long?: number;
  longIdle?: number;
  output?: string;
  quick: boolean;
  seed: string;
}

/** Where `moesim calibrate` writes by default. */
export function defaultProfilePath(backend: string): string {
  return path.join('reports', 'calibration', `${backend}.json`);
}

export const calibrateCommand: CommandModule<object, CalibrateArgs> = {
  command: 'calibrate',
  describe: 'Time expert runs and host-to-device uploads on a real backend (ONNX Runtime), fit the timing model, write a calibration profile',
  builder: (y) =>
    y
      .option('backend', {
        type: 'string',
        demandOption: true,
        describe: 'execution backend: cpu (ORT CPU EP) or webgpu (ORT WebGPU EP); disk: time O_DIRECT reads for the storage tier',
      })
      .option('file', { type: 'string', describe: 'disk: the test file to create and read (on the disk to measure; default reports/calibration/disk-testfile.bin)' })
      .option('model', { type: 'string', default: 'mixtral-8x7b', describe: 'disk: the model preset whose expert size the validation reads' })
      .option('scenario', { type: 'string', describe: 'disk: then replay this scenario\'s SSD reads (with the measured profile as its SSD) from a file on the disk, simulated vs measured' })
      .option('max-reads', numberOption('max-reads', { integer: true, min: 1, default: 64, describe: 'disk --scenario: replay at most this many SSD reads per policy' }))
      .option('experts', { type: 'string', default: 'int4', describe: 'disk: the experts\' dtype (expert size)' })
      .option('long', numberOption('long', { unit: 'seconds', min: 0, default: 0, describe: 'disk: seconds of each of two long runs of back-to-back expert reads (a token bucket: burst, then the sustained rate); the first fits the bucket, the second is held out; 0: none' }))
      .option('long-idle', numberOption('long-idle', { unit: 'seconds', min: 0, default: 5, describe: 'disk --long: idle seconds before each long run (the bucket refills)' }))
      .option('output', {
        alias: 'o',
        type: 'string',
        describe: 'profile file to write (default reports/calibration/<backend>.json)',
      })
      .option('quick', {
        type: 'boolean',
        default: false,
        describe: 'small shapes and short time budgets: seconds instead of minutes, rougher fits',
      })
      .option('seed', {
        type: 'string',
        default: 'moesim-calibrate',
        describe: 'seed of the random weights and activations',
      })
      .check((a) => {
        return a.backend === 'disk' || checkBackend(a.backend);
      }),
  handler: async (args) => {
    // the profile's folder checked before minutes of measuring
    checkOutputFile(args.output ?? defaultProfilePath(args.backend));
    if (args.backend === 'disk') {
      const { runDiskCalibration } = await import('../calibrate/disk-cli.js');
      await runDiskCalibration({ output: args.output ?? defaultProfilePath('disk'), file: args.file, model: args.model ?? 'mixtral-8x7b', experts: args.experts ?? 'int4', quick: args.quick, scenario: args.scenario, maxReads: args.maxReads, longSec: args.long, longIdleSec: args.longIdle });
      return;
    }
    // Loaded here, not at the top: ONNX Runtime and mathjs are slow to load and only this command needs them.
    const { calibrate } = await import('../calibrate/calibrate.js');
    const { formatProfileSummary, writeProfile } = await import('../calibrate/profile.js');
    const { fullPlan, quickPlan } = await import('../calibrate/microbench.js');
    const out = args.output ?? defaultProfilePath(args.backend);
    const progress = calibrateProgress(args.quick ? quickPlan : fullPlan, args.backend);
    let profile;
    try {
      profile = await calibrate({ backend: args.backend, quick: args.quick, seed: args.seed, progress: progress.message });
    } catch (e) {
      progress.stop(false);
      throw e;
    }
    progress.stop();
    await writeProfile(out, profile);
    process.stdout.write(`${formatProfileSummary(profile)}\n\nwrote ${out}\n`);
  },
};
