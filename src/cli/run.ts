import { numberOption } from './options.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CommandModule } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { loadScenarioFile, parseScenario } from '../scenario/load.js';
import { scenarioSchema } from '../scenario/schema.js';
import { parseSetOption } from '../sweep/expand.js';
import { progressCallback, stderrProgress } from '../sweep/progress.js';
import { resolvePath, setIn } from '../sweep/path.js';
import { InputError } from '../util/errors.js';
import { pickPolicyIndices } from '../scenario/pick.js';
import { runScenario } from '../sim/run.js';
import { JOINT_LP_MAX_ACCESSES, JOINT_MIP_MAX_ACCESSES } from '../sim/tier-bounds.js';
import { comparisonTable } from '../report/table.js';
import { defaultRunDir } from '../sweep/out-dir.js';
import { checkOutputFile, checkOutputFolder, writeFileAtomic } from '../util/fs.js';
import { checkRunResult, inScenarioFile } from './checks.js';

interface RunArgs {
  scenario: string;
  json: boolean;
  out?: string;
  report: boolean;
  reportDir?: string;
  timings?: boolean;
  set?: string[];
  policy?: string[];
  seed?: string;
  jobs?: number;
  tierBounds?: boolean;
  tierBoundsMaxAccesses?: number;
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
      .option('set', { type: 'string', array: true, nargs: 1, describe: "override a field: path=value, a YAML scalar or flow mapping (e.g. hardware.link.bandwidthGBps=32, policies[*].cache.perLayer=2 or 'policies[0].cache={gib: 18}'); repeatable" })
      .option('policy', { type: 'string', array: true, describe: "simulate only these policies: label (as printed) or index in the scenario's list, or a kind only one policy has; repeatable or comma-separated" })
      .option('seed', { type: 'string', describe: 'override the scenario seed' })
      .option('jobs', numberOption('jobs', {
        integer: true,
        min: 1,
        describe: `threads for the policies (default: the core count, ${availableParallelism()} here, when each policy has at least 4 M expert accesses; 1: one thread); the result is the same`,
      }))
      .option('tier-bounds', {
        type: 'boolean',
        default: true,
        describe: 'three tiers (host DRAM in front of an SSD): compute per-tier Belady and the joint two-tier optimum (HiGHS) on the run\'s accesses (--no-tier-bounds: do not)',
      })
      .option('tier-bounds-max-accesses', numberOption('tier-bounds-max-accesses', {
        integer: true,
        min: 1,
        describe: `solve the joint optimum's LP relaxation up to this many expert accesses (default ${JOINT_LP_MAX_ACCESSES}; the MIP up to ${JOINT_MIP_MAX_ACCESSES}); HiGHS took 428 s on 22,272 here`,
      }))
      .option('timings', {
        type: 'boolean',
        describe:
          'measure predictors\' training wall time (default: on for the table, off with --json so that the JSON depends on the scenario and seed alone)',
      }),
  handler: async (args) => {
    if (args.out === '') throw new InputError('--out: expected a file name, got an empty string');
    if (args.reportDir === '') throw new InputError('--report-dir: expected a folder, got an empty string');
    const loaded = loadScenarioFile(args.scenario);
    const { file, baseDir } = loaded;
    let { scenario, raw } = loaded;
    if (args.set?.length || args.policy?.length || args.seed !== undefined) {
      const edited = structuredClone(raw) as Record<string, unknown>;
      for (const text of args.set ?? []) {
        const axis = parseSetOption(text, parseYaml);
        if (axis.values.length !== 1) throw new InputError(`--set ${axis.path}: run takes one value (moesim sweep runs several)`);
        for (const target of resolvePath(scenarioSchema, edited, axis.path, axis.values[0])) setIn(edited, target, structuredClone(axis.values[0]));
      }
      if (args.seed !== undefined) edited.seed = /^-?\d+$/.test(args.seed) ? Number(args.seed) : args.seed;
      if (args.policy?.length) {
        const { policyLabel } = await import('../sim/run.js');
        const parsed = parseScenario(edited, file);
        const printed = parsed.policies.map((p) => policyLabel(p, Number.NaN));
        const keep = pickPolicyIndices(parsed.policies, printed, args.policy, file);
        edited.policies = keep.map((i) => (edited.policies as unknown[])[i]);
      }
      raw = edited;
      scenario = parseScenario(edited, file);
    }
    // where the results go, checked before the run (the writes at the end check again)
    if (args.out) checkOutputFile(args.out);
    if (args.report) checkOutputFolder(args.reportDir ?? defaultRunDir(scenario.name));
    if (scenario.parallel) {
      // Several GPUs (issue 17): a separate simulator and result (src/parallel/).
      const { runParallelCli } = await import('./run-parallel.js');
      return runParallelCli(scenario, { file, baseDir, json: args.json, out: args.out, report: args.report, reportDir: args.reportDir });
    }
    const timings = args.timings ?? !args.json;
    // Progress on stderr for a long run (nothing in the first seconds); it never touches stdout or the result.
    const progress = stderrProgress('run', 'tokens');
    const result = await runScenario(scenario, { baseDir, file, ...(timings ? { clock: () => performance.now() } : {}), progress: progressCallback(progress), jobs: args.jobs ?? 'auto', tierBounds: args.tierBounds === false ? false : { lpMaxAccesses: args.tierBoundsMaxAccesses } })
      .catch((e: unknown) => {
        throw inScenarioFile(e, file);
      })
      .finally(() => progress.stop());
    checkRunResult(result, scenario, file);
    const json = JSON.stringify(result, null, 2) + '\n';
    const out = args.out ? [{ path: args.out, data: json }] : [];
    if (args.report) {
      const dir = args.reportDir ?? defaultRunDir(scenario.name);
      if (scenario.sweep) process.stderr.write(`note: ${file} has a sweep: block; run simulates the scenario without it (moesim sweep runs the grid)\n`);
      // Loaded only when used: vega is heavy, and the other commands start faster without it.
      const { RUN_RESULT_JSON, sourceFromRun } = await import('../report/source.js');
      const { writeReportAndSay } = await import('./report-out.js');
      // --out, result.json and the report: all written, or none (a report folder that cannot be made leaves no --out file)
      await writeReportAndSay(sourceFromRun(result, raw), dir, { also: [...out, { path: join(dir, RUN_RESULT_JSON), data: json }] });
    } else if (args.out) writeFileAtomic(args.out, json);
    process.stdout.write(args.json ? json : comparisonTable(result) + '\n');
  },
};
