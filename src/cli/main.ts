#!/usr/bin/env node
/** moesim's command line: a thin layer of yargs command modules over the API. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError } from '../util/errors.js';
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
import { initCommand } from './init.js';

export async function main(argv: string[]): Promise<number> {
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
      .command(initCommand)
      .completion('completion', 'Print a bash/zsh completion script: moesim completion >> ~/.bashrc (or ~/.zshrc)')
      .demandCommand(1, 'name a command: moesim --help lists them')
      .strict()
      .fail((msg, err) => {
        throw err ?? new InputError(msg.replace(/:?\s*\n\s*/g, ': '));
      })
      .parseAsync();
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`moesim: ${e.message.replace(/\s*\n\s*/g, '; ')}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`moesim: internal error: ${err.message}\n`);
    if (process.env.MOESIM_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

main(hideBin(process.argv)).then((code) => {
  // A command may have set its own code (sweep: 130 when interrupted, 1 when a point crashed).
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
});
