import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CommandModule } from 'yargs';

interface ReportArgs {
  results: string;
  out?: string;
  svg: boolean;
}

const VALIDATE_JSON = 'validate.json';

/** The validate.json a path names (the file, or a folder holding only it), if any. */
function validateJsonOf(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) {
    const hasResults = existsSync(join(path, 'results.jsonl')) || existsSync(join(path, 'result.json'));
    return !hasResults && existsSync(join(path, VALIDATE_JSON)) ? join(path, VALIDATE_JSON) : undefined;
  }
  return basename(path) === VALIDATE_JSON ? path : undefined;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <results>',
  describe:
    'Write the HTML report (index.html, charts/*.svg) of a sweep folder, a run folder, a scenario\'s reports/<name>/ folder, a results.jsonl, a RunResult JSON or a validate.json',
  builder: (y) =>
    y
      .positional('results', {
        type: 'string',
        demandOption: true,
        describe: 'reports/<name>/ (its run/ or sweep/), a sweep or run folder, results.jsonl, RunResult JSON (moesim run --out), or validate.json (moesim validate)',
      })
      .option('out', { type: 'string', describe: 'report folder (default: the results folder)' })
      .option('svg', { type: 'boolean', default: true, describe: 'also export every chart as SVG (--no-svg: do not)' }),
  handler: async (args) => {
    const validateJson = validateJsonOf(args.results);
    if (validateJson) {
      const { renderValidationHtml } = await import('../report/validate.js');
      const { vegaLibraries } = await import('./trace.js');
      const { writeFileAtomic } = await import('../util/fs.js');
      const { InputError } = await import('../util/errors.js');
      let v;
      try {
        v = JSON.parse(readFileSync(validateJson, 'utf8'));
      } catch (e) {
        throw new InputError(`${validateJson}: not JSON (${(e as Error).message})`);
      }
      if (!Array.isArray(v?.policies) || !Array.isArray(v.policies[0]?.measuredStepSec)) {
        throw new InputError(`${validateJson}: not a full moesim validate result (no per-step times); write one with moesim validate --out FILE`);
      }
      const dir = args.out ?? join(validateJson, '..');
      const index = join(dir, 'index.html');
      writeFileAtomic(index, renderValidationHtml(v, await vegaLibraries()));
      process.stderr.write(`report: ${index} (validation)\n`);
      return;
    }
    const { loadReportSource } = await import('../report/source.js');
    const { writeReportAndSay } = await import('./report-out.js');
    const { source, dir } = loadReportSource(args.results, (w) => process.stderr.write(`warning: ${w}\n`));
    await writeReportAndSay(source, args.out ?? dir, { svg: args.svg });
  },
};
