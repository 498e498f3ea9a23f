import { numberOption } from './options.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readDiskProfileSync } from '../hardware/storage.js';
import type { CommandModule } from 'yargs';
import { InputError } from '../util/errors.js';
import { checkOutputFile, checkOutputFolder, writeFileAtomic, writeFilesAtomic } from '../util/fs.js';
import { defaultProfilePath } from './calibrate.js';
import { replayOptions, setupOptions, type ReplayArgs } from './replay.js';
import { defaultValidateDir } from '../sweep/out-dir.js';

interface ValidateArgs extends ReplayArgs {
  profile?: string;
  reportDir?: string;
  report: boolean;
  interleave: boolean;
  diskProfile?: string;
  diskBracketBound?: number;
  diskProbeReads?: number;
}

export { defaultValidateDir } from '../sweep/out-dir.js';

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate <scenario>',
  describe: 'Replay the scenario on a real backend and simulate it with a calibration profile; print simulated vs measured per policy and metric, with the errors; write an HTML report',
  builder: (y) =>
    replayOptions(y)
      .option('profile', { type: 'string', describe: 'calibration profile (default reports/calibration/<backend>.json, written by moesim calibrate)' })
      .option('report-dir', { type: 'string', describe: 'folder of the HTML report (default reports/<scenario>/validate-<backend>/)' })
      .option('disk-profile', { type: 'string', describe: 'the measured disk a storage tier is simulated on and read with (default reports/calibration/disk.json where it exists; moesim calibrate --backend disk writes it)' })
      .option('disk-bracket-bound', numberOption('disk-bracket-bound', {
        above: 0,
        describe: "a storage tier's pass counts as bracketed when the disk samples immediately before and after it differ by at most this (max / min - 1; default 0.2, validate.ts DISK_BRACKET_BOUND: their geometric mean within 9.5% of a rate between them); a pass outside it is reported as not bracketed",
      }))
      .option('disk-probe-reads', numberOption('disk-probe-reads', { integer: true, min: 1, describe: 'expert reads of each disk sample before and after a pass of a storage tier (default 32)' }))
      .option('report', { type: 'boolean', default: true, describe: 'write the HTML report (--no-report: do not)' })
      .option('interleave', {
        type: 'boolean',
        default: true,
        describe: "re-measure the profile's key points (expert run, upload) before the first timed pass and after each, and a storage tier's disk immediately before and after each of its passes, and simulate each pass on the machine's speed of its minutes (--no-interleave: every pass on the profiles as calibrated)",
      }) as never,
  handler: async (a) => {
    const { readProfile } = await import('../calibrate/profile.js');
    const { setupReplay } = await import('../calibrate/replay-setup.js');
    const { validate } = await import('../calibrate/validate.js');
    const { formatValidation, renderValidationHtml } = await import('../report/validate.js');
    const { vegaLibraries } = await import('./trace.js');
    const profileFile = a.profile ?? defaultProfilePath(a.backend);
    const profile = await readProfile(profileFile).catch((e: unknown) => {
      if (e instanceof InputError && a.profile === undefined && /no such file/.test(e.message)) {
        throw new InputError(`${e.message}; run moesim calibrate --backend ${a.backend} first, or give --profile`);
      }
      throw e;
    });
    const diskProfile = a.diskProfile ?? (existsSync(defaultProfilePath('disk')) ? defaultProfilePath('disk') : undefined);
    const disk = diskProfile ? { profileFile: diskProfile, ssd: readDiskProfileSync(diskProfile) } : undefined;
    if (a.out) checkOutputFile(path.resolve(a.out));
    if (a.report && a.reportDir !== undefined) checkOutputFolder(a.reportDir);
    const setup = await setupReplay(setupOptions(a));
    const progress = (m: string) => process.stderr.write(`  ${m}\n`);
    progress(`backend ${setup.backend.name}: ${setup.backend.device}`);
    let result;
    try {
      result = await validate(setup, { profile, profileFile, warmupSteps: a.warmupSteps, repeats: a.repeats, seed: a.seed, progress, interleave: a.interleave, ...(a.diskBracketBound !== undefined ? { diskBracketBound: a.diskBracketBound } : {}), ...(a.diskProbeReads !== undefined ? { diskProbeReads: a.diskProbeReads } : {}), ...(disk ? { disk } : {}), ...(a.diskFile ? { diskFile: path.resolve(a.diskFile) } : {}) });
    } finally {
      await setup.backend.close();
    }
    const json = JSON.stringify(result, null, 2) + '\n';
    const out = a.out ? [{ path: path.resolve(a.out), data: json }] : [];
    if (a.report) {
      const dir = a.reportDir ?? defaultValidateDir(result.scenario.name, result.backend.name);
      // --out and the report: all written, or none
      writeFilesAtomic([...out, { path: path.join(dir, 'index.html'), data: renderValidationHtml(result, await vegaLibraries()) }, { path: path.join(dir, 'validate.json'), data: json }]);
      process.stderr.write(`wrote ${path.join(dir, 'index.html')}\n`);
    } else if (a.out) writeFileAtomic(path.resolve(a.out), json);
    process.stdout.write(a.json ? json : formatValidation(result) + '\n');
  },
};
