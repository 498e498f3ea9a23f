/** The `moesim calibrate --backend disk` command's work (issue 16): options from flags, run, write, summarize. */
import { dirname, join } from 'node:path';
import { resolveModel } from '../model/resolve.js';
import { bytesPerParam, expertParams } from '../model/derived.js';
import { dtypeSchema } from '../scenario/schema.js';
import { InputError } from '../util/errors.js';
import { makeFolder } from '../util/fs.js';
import { calibrateDisk, defaultDiskOptions, formatDiskSummary, writeDiskProfile } from './disk.js';

export async function runDiskCalibration(a: { output: string; file?: string; model: string; experts: string; quick: boolean }): Promise<void> {
  const model = resolveModel(a.model, '--model');
  const dtype = dtypeSchema.safeParse(a.experts);
  if (!dtype.success) throw new InputError(`--experts: unknown dtype "${a.experts}"`);
  const expertBytes = Math.round(expertParams(model) * bytesPerParam(dtype.data, 128));
  makeFolder(dirname(a.output));
  const file = a.file ?? join(dirname(a.output), 'disk-testfile.bin');
  const profile = await calibrateDisk({ ...defaultDiskOptions(file, expertBytes, a.quick), progress: (m) => process.stderr.write(`  ${m}\n`) });
  writeDiskProfile(a.output, profile);
  process.stdout.write(`${formatDiskSummary(profile)}\n\nwrote ${a.output} (hardware.storage.profile reads it)\n`);
}
