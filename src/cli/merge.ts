import { InputError } from '../util/errors.js';
import type { CommandModule } from 'yargs';

interface MergeArgs {
  inputs: string[];
  out?: string;
  report: boolean;
  allowPartial?: boolean;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <inputs..>',
  describe: 'Combine the outputs of sweep shards (moesim sweep --shard i/n) into one result set and report',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'shard output folders' })
      .option('out', { type: 'string', describe: 'output folder (default: reports/<scenario name>/sweep/)' })
      .option('report', { type: 'boolean', default: true, describe: 'write the HTML report (--no-report: do not)' })
      .option('allow-partial', { type: 'boolean', default: false, describe: 'exit 0 even when points are missing (a shard not run or not finished); by default that exits 2' }),
  handler: async (args) => {
    const { merge } = await import('../sweep/merge.js');
    const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
    const s = merge({ inputs: args.inputs, outDir: args.out, log: warn });
    const of = s.totalPoints !== undefined ? ` of ${s.totalPoints}` : '';
    process.stdout.write(`${s.name}: merged ${s.points}${of} point${(s.totalPoints ?? s.points) === 1 ? '' : 's'} (sweep ${s.sweepId}) from ${args.inputs.length} input${args.inputs.length === 1 ? '' : 's'} into ${s.outDir}\n`);
    let missing: string | undefined;
    if (s.missing.length) {
      const list = s.missing.slice(0, 10).map((i) => i + 1).join(', ');
      missing = `merge: ${s.missing.length} point${s.missing.length === 1 ? ' is' : 's are'} missing (${list}${s.missing.length > 10 ? ', ...' : ''}): a shard not run or not finished`;
      if (args.allowPartial) warn(missing);
    }
    if (args.report) {
      const { loadReportSource } = await import('../report/source.js');
      const { writeReportAndSay } = await import('./report-out.js');
      const { source } = loadReportSource(s.outDir, warn);
      await writeReportAndSay(source, s.outDir);
    }
    // a partial result must not pass for a success (a Slurm afterok pipeline): exit 2 unless asked
    if (missing !== undefined && !args.allowPartial) throw new InputError(`${missing}; merged what exists into ${s.outDir} (--allow-partial: exit 0)`);
  },
};
