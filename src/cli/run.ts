import type { CommandModule } from 'yargs';
import { loadScenarioFile } from '../scenario/load.js';
import { runScenario } from '../sim/run.js';
import { comparisonTable } from '../report/table.js';
import { writeFileAtomic } from '../util/fs.js';
import { performance } from 'node:perf_hooks';

interface RunArgs {
  scenario: string;
  json: boolean;
  out?: string;
  timings: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <scenario>',
  describe: 'Simulate every policy of a scenario and print the comparison',
  builder: (y) =>
    y
      .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (RunResult) on stdout' })
      .option('out', { type: 'string', describe: 'also write the RunResult JSON to this file' })
      .option('timings', {
        type: 'boolean',
        default: true,
        describe: 'measure predictor training wall time (--no-timings: a result that depends on the scenario alone)',
      }),
  handler: async (args) => {
    const { scenario, file, baseDir } = loadScenarioFile(args.scenario);
    const result = await runScenario(scenario, { baseDir, file, ...(args.timings ? { clock: () => performance.now() } : {}) });
    const json = JSON.stringify(result, null, 2) + '\n';
    if (args.out) writeFileAtomic(args.out, json);
    process.stdout.write(args.json ? json : comparisonTable(result) + '\n');
  },
};
