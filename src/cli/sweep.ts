import { numberOption } from './options.js';
import { availableParallelism } from 'node:os';
import { plural } from '../report/style.js';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { renderTable } from '../report/table.js';
import { describeAssignments, parseSetOption, parseShard, shardIndices, type SweepMode } from '../sweep/expand.js';
import { createProgress } from '../sweep/progress.js';
import { RESULTS_CSV, RESULTS_JSONL } from '../sweep/results.js';
import { InputError } from '../util/errors.js';

interface SweepArgs {
  scenario: string;
  set?: string[];
  mode?: SweepMode;
  workers?: number;
  shard?: string;
  out?: string;
  report: boolean;
  dryRun?: boolean;
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep <scenario>',
  describe: "Run a grid of scenarios (the scenario's sweep: block and/or --set) on all cores; resumable",
  builder: (y) =>
    y
      .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('set', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'sweep a field: path=v1,v2,... (e.g. hardware.link.bandwidthGBps=16,32,64 or policies[*].cache.perLayer=2,4); repeatable',
      })
      .option('mode', { choices: ['cartesian', 'zip'] as const, describe: 'combine the paths: every combination, or the i-th values together' })
      .option('workers', numberOption('workers', { integer: true, min: 1, describe: `worker threads (default: the core count, ${availableParallelism()} here)` }))
      .option('shard', { type: 'string', describe: 'run shard i of n (i/n, 0-based): every n-th point from the i-th' })
      .option('out', { type: 'string', describe: 'output folder (default: reports/<scenario name>/sweep/, or .../sweep/shard-<i>-of-<n>/)' })
      .option('report', { type: 'boolean', default: true, describe: 'write the HTML report when done (--no-report: do not)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'list the points (after checking them all) and run nothing' }),
  handler: async (args) => {
    if (args.out === '') throw new InputError('--out: expected a folder, got an empty string');
    const set = (args.set ?? []).map((s) => parseSetOption(s, parseYaml));
    const shard = args.shard !== undefined ? parseShard(args.shard) : undefined;
    const { planSweep, sweep } = await import('../sweep/sweep.js');
    if (args.dryRun) {
      const { plan } = planSweep({ scenarioFile: args.scenario, set, mode: args.mode });
      const paths = plan.definition.grid.map((a) => a.path);
      const rows: string[][] = [];
      for (const i of shardIndices(plan.size, shard)) {
        const p = plan.identity(i);
        rows.push([String(i + 1), p.id, String(p.seed), ...paths.map((k) => JSON.stringify(p.assignments[k]))]);
      }
      const checked = plan.allChecked ? 'all valid' : `every value valid (checked on the first point that takes it; the other combinations are checked as they run)`;
      process.stdout.write(`${plan.name}: sweep ${plan.id}, ${plan.definition.mode}, ${plural(plan.size, 'point')}${shard ? ` (shard ${shard.index}/${shard.count}: ${rows.length})` : ''}, ${checked}\n\n`);
      process.stdout.write(renderTable(['#', 'point', 'seed', ...paths], rows) + '\n');
      return;
    }

    // Ctrl-C: stop handing out points; finished points are already on disk. A second one exits at once.
    const abort = new AbortController();
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(130);
      process.stderr.write('\nmoesim: interrupted; stopping (finished points are saved; Ctrl-C again to quit now)\n');
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    let summary;
    try {
      summary = await sweep({
        scenarioFile: args.scenario,
        set,
        mode: args.mode,
        workers: args.workers,
        shard,
        outDir: args.out,
        signal: abort.signal,
        progress: createProgress(process.stderr),
        log: (m) => process.stderr.write(`warning: ${m}\n`),
      });
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
    const s = summary;
    const done = s.resumed + s.ran;
    if (s.interrupted) {
      process.stderr.write(`moesim: interrupted: ${done} of ${plural(s.shardPoints, 'point')} finished and saved in ${join(s.outDir, RESULTS_JSONL)}; run the same command again to resume\n`);
      process.exitCode = 130;
      return;
    }
    const shardNote = s.shardPoints !== s.totalPoints ? ` (this shard: ${s.shardPoints} of ${s.totalPoints})` : '';
    process.stdout.write(
      `${s.name}: ${plural(s.shardPoints, 'point')}${shardNote}: ${s.ran} run, ${s.resumed} already done, in ${(s.elapsedMs / 1e3).toFixed(1)} s on ${s.workers} worker${s.workers === 1 ? '' : 's'}\n` +
        `results: ${join(s.outDir, RESULTS_JSONL)}, ${join(s.outDir, RESULTS_CSV)} (sweep ${s.sweepId})\n`,
    );
    for (const f of s.failed) process.stderr.write(`warning: ${args.scenario}: sweep point ${f.index + 1} (${describeAssignments(f.assignments)}) is invalid: ${f.error}\n`);
    if (args.report) {
      const { loadReportSource } = await import('../report/source.js');
      const { writeReportAndSay } = await import('./report-out.js');
      const { source } = loadReportSource(s.outDir, (m) => process.stderr.write(`warning: ${m}\n`));
      await writeReportAndSay(source, s.outDir);
    }
    if (s.crashed.length) {
      process.stderr.write(`moesim: ${s.crashed.length} point${s.crashed.length === 1 ? '' : 's'} hit an internal error (not saved; they run again on resume); set MOESIM_DEBUG=1 for details\n`);
      process.exitCode = 1;
    }
  },
};
