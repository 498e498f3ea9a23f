/** `moesim run` on a scenario with `parallel:` (several GPUs): its own result, table and report. */
import { join } from 'node:path';
import type { Scenario } from '../scenario/schema.js';
import { runParallelScenario } from '../parallel/run.js';
import { parallelTable } from '../parallel/table.js';
import { writeFileAtomic, writeFilesAtomic } from '../util/fs.js';
import { defaultRunDir } from '../sweep/out-dir.js';
import { inScenarioFile } from './checks.js';

export async function runParallelCli(scenario: Scenario, o: { file: string; baseDir: string; json: boolean; out?: string; report: boolean; reportDir?: string }): Promise<void> {
  const result = await runParallelScenario(scenario, { baseDir: o.baseDir, file: o.file }).catch((e: unknown) => {
    throw inScenarioFile(e, o.file);
  });
  const json = JSON.stringify(result, null, 2) + '\n';
  const out = o.out ? [{ path: o.out, data: json }] : [];
  if (o.report) {
    const dir = o.reportDir ?? defaultRunDir(scenario.name);
    const { renderParallelHtml } = await import('../report/parallel.js');
    const { libraries } = await import('../report/write.js');
    // --out and the report: all written, or none
    writeFilesAtomic([...out, { path: join(dir, 'result.json'), data: json }, { path: join(dir, 'index.html'), data: renderParallelHtml(result, libraries()) }]);
    process.stderr.write(`report: ${join(dir, 'index.html')}\n`);
  } else if (o.out) writeFileAtomic(o.out, json);
  process.stdout.write(o.json ? json : parallelTable(result) + '\n');
}
