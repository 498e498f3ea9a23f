#!/usr/bin/env node
/** moesim's command line: a thin layer of yargs command modules over the API. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError, oneLine } from '../util/errors.js';
import { fsInputError } from '../util/fs.js';
import { VERSION } from '../version.js';
import { runCommand } from './run.js';
import { presetsCommand } from './presets.js';
import { traceCommand } from './trace.js';
import { calibrateCommand } from './calibrate.js';
import { sweepCommand } from './sweep.js';
import { mergeCommand } from './merge.js';
import { reportCommand } from './report.js';
import { replayCommand } from './replay.js';
import { validateCommand } from './validate.js';
import { reproduceCommand } from './reproduce.js';
import { initCommand } from './init.js';

/** Options whose value may start with "-" (`--shard -1/2`): joined as `--shard=-1/2` so the value's own check names it. */
const VALUE_OPTIONS = new Set(['--shard', '--set', '--seed', '--out', '-o']);

function joinDashValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (VALUE_OPTIONS.has(a) && next !== undefined && /^-[^-]/.test(next) && !/^-[a-zA-Z]$/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  argv = joinDashValues(argv);
  try {
    await yargs(argv)
      .scriptName('moesim')
      .version(VERSION)
      .command(runCommand)
      .command(sweepCommand)
      .command(mergeCommand)
      .command(reportCommand)
      .command(presetsCommand)
      .command(traceCommand)
      .command(calibrateCommand)
      .command(replayCommand)
      .command(validateCommand)
      .command(reproduceCommand)
      .command(initCommand)
      .completion('completion', 'Print a bash/zsh completion script: moesim completion >> ~/.bashrc (or ~/.zshrc)')
      .demandCommand(1, 'name a command: moesim --help lists them')
      .strict()
      // numeric options are parsed from what was typed (src/cli/options.ts), never turned into NaN
      .parserConfiguration({ 'parse-numbers': false })
      .fail((msg, err) => {
        // yargs wraps what an option's check (coerce) threw in a YError of the same message: bad input
        if (err?.name === 'YError') throw new InputError(err.message);
        // a command without its file argument: name the command and where its usage is
        const missing = /^Not enough non-option arguments: got (\d+), need at least (\d+)/.exec(msg ?? '');
        if (!err && missing && argv[0] && !argv[0].startsWith('-')) {
          const command = argv.slice(0, argv[0] === 'trace' && argv[1] && !argv[1].startsWith('-') ? 2 : 1).join(' ');
          throw new InputError(`${command}: expected ${missing[2]} file argument${missing[2] === '1' ? '' : 's'}, got ${missing[1]}; moesim ${command} --help shows the usage`);
        }
        throw err ?? new InputError(msg.replace(/:?\s*\n\s*/g, ': '));
      })
      .parseAsync();
    return 0;
  } catch (caught) {
    // a file-system error no command caught is still bad input (a path the user gave)
    const e = fsInputError(caught, 'read');
    if (e instanceof InputError) {
      process.stderr.write(`moesim: ${oneLine(e.message)}\n`);
      return 2;
    }
    const err = e as Error;
    // an allocation a size in the input asked for (the sizes moesim knows are checked before this)
    if (err instanceof RangeError && /Invalid typed array length|Array buffer allocation failed|Invalid array length/.test(err.message)) {
      process.stderr.write(`moesim: ${oneLine(argv.join(' '))}: the input asks for more memory than can be allocated (${oneLine(err.message)}); check its sizes (workload.batchSize, workload.promptTokens, trace lengths)\n`);
      return 2;
    }
    process.stderr.write(`moesim: internal error: ${oneLine(err?.message ?? String(e))}\n`);
    if (process.env.MOESIM_DEBUG) process.stderr.write(`${err?.stack}\n`);
    return 1;
  }
}

// stdout closed by the reader (`moesim ... | head`): stop quietly, as other command-line tools do
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(hideBin(process.argv)).then((code) => {
  // A command may have set its own code (sweep: 130 when interrupted, 1 when a point crashed).
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
});
