import type { CommandModule } from 'yargs';

interface ReportArgs {
  results: string;
  out?: string;
  svg: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <results>',
  describe: 'Write the HTML report (index.html, charts/*.svg) of a sweep folder, a results.jsonl or a RunResult JSON',
  builder: (y) =>
    y
      .positional('results', { type: 'string', demandOption: true, describe: 'sweep folder, results.jsonl, or RunResult JSON (moesim run --out)' })
      .option('out', { type: 'string', describe: 'report folder (default: the results folder)' })
      .option('svg', { type: 'boolean', default: true, describe: 'also export every chart as SVG (--no-svg: do not)' }),
  handler: async (args) => {
    const { loadReportSource } = await import('../report/source.js');
    const { writeReportAndSay } = await import('./report-out.js');
    const { source, dir } = loadReportSource(args.results, (w) => process.stderr.write(`warning: ${w}\n`));
    await writeReportAndSay(source, args.out ?? dir, { svg: args.svg });
  },
};
