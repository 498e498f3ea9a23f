import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CommandModule } from 'yargs';
import { loadScenarioFile } from '../scenario/load.js';
import { runScenario } from '../sim/run.js';
import { comparisonTable } from '../report/table.js';
import { defaultRunDir } from '../sweep/out-dir.js';
import { writeFileAtomic } from '../util/fs.js';

interface RunArgs {
  scenario: string;
  json: boolean;
  out?: string;
  report: boolean;
  reportDir?: string;
  timings?: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <scenario>',
  describe: 'Simulate every policy of a scenario and print the comparison',
  builder: (y) =>
    y
      .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (RunResult) on stdout' })
      .option('out', { type: 'string', describe: 'also write the RunResult JSON to this file' })
      .option('report', { type: 'boolean', default: true, describe: 'write the HTML report into reports/<scenario name>/run/ (--no-report: do not)' })
      .option('report-dir', { type: 'string', describe: 'write the report here instead of reports/<scenario name>/run/' })
      .option('timings', {
        type: 'boolean',
        describe:
          'measure predictors\' training wall time (default: on for the table, off with --json so that the JSON depends on the scenario and seed alone)',
      }),
  handler: async (args) => {
    const { scenario, file, baseDir, raw } = loadScenarioFile(args.scenario);
    const timings = args.timings ?? !args.json;
    const result = await runScenario(scenario, { baseDir, file, ...(timings ? { clock: () => performance.now() } : {}) });
    const json = JSON.stringify(result, null, 2) + '\n';
    if (args.out) writeFileAtomic(args.out, json);
    process.stdout.write(args.json ? json : comparisonTable(result) + '\n');
    if (args.report) {
      const dir = args.reportDir ?? defaultRunDir(scenario.name);
      if (scenario.sweep) process.stderr.write(`note: ${file} has a sweep: block; run simulates the scenario without it (moesim sweep runs the grid)\n`);
      // Loaded only when used: vega is heavy, and the other commands start faster without it.
      const { RUN_RESULT_JSON, sourceFromRun } = await import('../report/source.js');
      const { writeReportAndSay } = await import('./report-out.js');
      writeFileAtomic(join(dir, RUN_RESULT_JSON), json);
      await writeReportAndSay(sourceFromRun(result, raw), dir);
    }
  },
};
