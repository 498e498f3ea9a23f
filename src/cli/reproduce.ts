import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { InputError } from '../util/errors.js';
import { checkOutputFolder, writeFilesAtomic } from '../util/fs.js';

interface ReproduceArgs {
  suite?: string;
  json: boolean;
  out?: string;
  fit: string;
  only?: string;
}

export const reproduceCommand: CommandModule<object, ReproduceArgs> = {
  command: 'reproduce',
  describe: 'Simulate the published measurements (scenarios/published/) and print published vs simulated',
  builder: (y) =>
    y
      .option('suite', { type: 'string', describe: 'the points file (default scenarios/published/points.json)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document on stdout' })
      .option('out', { type: 'string', describe: 'write index.html and result.json here (default reports/reproduce/)' })
      .option('fit', { type: 'string', default: 'loso', describe: 'fitted-parameter protocol: loso (leave one system out), none, or a comma list of systems (or point-id prefixes ending in *) to fit on' })
      .option('only', { type: 'string', describe: 'comma list of point ids (or prefixes ending in *) to run' }),
  handler: async (args) => {
    const { loadSuite, defaultSuiteFile, suiteBaseDir } = await import('../reproduce/index.js');
    const { reproduce, formatReproduce, renderReproduceHtml } = await import('../reproduce/index.js');
    const file = args.suite ?? defaultSuiteFile();
    const suite = loadSuite(file);
    if (args.only) {
      const pats = args.only.split(',').map((s) => s.trim()).filter(Boolean);
      suite.points = suite.points.filter((p) => pats.some((q) => (q.endsWith('*') ? p.id.startsWith(q.slice(0, -1)) : p.id === q)));
      if (suite.points.length === 0) throw new InputError(`--only ${args.only}: no point matches`);
    }
    const fit = args.fit === 'loso' ? { kind: 'loso' as const } : args.fit === 'none' ? { kind: 'none' as const } : { kind: 'subset' as const, systems: args.fit.split(',').map((s) => s.trim()).filter(Boolean) };
    if (fit.kind === 'subset' && fit.systems.length === 0) throw new InputError(`--fit: expected loso, none, or a comma list of systems (or point-id prefixes ending in *), got '${args.fit}'`);
    if (fit.kind === 'subset') {
      const known = new Set(suite.points.map((p) => p.system));
      for (const s of fit.systems) {
        if (s.endsWith('*')) {
          if (!suite.points.some((p) => p.id.startsWith(s.slice(0, -1)))) throw new InputError(`--fit: no point id starts with "${s.slice(0, -1)}"`);
        } else if (!known.has(s)) throw new InputError(`--fit: no point of system "${s}"; expected loso, none, or systems among ${[...known].sort().join(', ')}`);
      }
    }
    const dir = args.out ?? join('reports', 'reproduce');
    checkOutputFolder(dir);
    const result = await reproduce(suite, {
      baseDir: suiteBaseDir(file),
      fit,
      onProgress: (d, t) => {
        if (process.stderr.isTTY && (d % 10 === 0 || d === t)) process.stderr.write(`\rsimulated ${d}/${t}`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const json = JSON.stringify(result, null, 2) + '\n';
    process.stdout.write(args.json ? json : formatReproduce(result) + '\n');
    const { vegaLibraries } = await import('./trace.js');
    // both or neither
    writeFilesAtomic([
      { path: join(dir, 'result.json'), data: json },
      { path: join(dir, 'index.html'), data: renderReproduceHtml(result, await vegaLibraries()) },
    ]);
    process.stderr.write(`wrote ${join(dir, 'index.html')}\n`);
  },
};
