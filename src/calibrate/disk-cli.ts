/** The `moesim calibrate --backend disk` command's work (issue 16): options from flags, run, write, summarize. */
import { dirname, join } from 'node:path';
import { resolveModel } from '../model/resolve.js';
import { bytesPerParam, expertParams } from '../model/derived.js';
import { dtypeSchema } from '../scenario/schema.js';
import { InputError } from '../util/errors.js';
import { makeFolder } from '../util/fs.js';
import { calibrateDisk, defaultDiskOptions, formatDiskSummary, writeDiskProfile } from './disk.js';

export async function runDiskCalibration(a: { output: string; file?: string; model: string; experts: string; quick: boolean; scenario?: string; maxReads?: number; longSec?: number; longIdleSec?: number }): Promise<void> {
  const model = resolveModel(a.model, '--model');
  const dtype = dtypeSchema.safeParse(a.experts);
  if (!dtype.success) throw new InputError(`--experts: unknown dtype "${a.experts}"`);
  const expertBytes = Math.round(expertParams(model) * bytesPerParam(dtype.data, 128));
  // the scenario's own errors before minutes of measuring, and before the profile is written
  if (a.scenario) (await import('../scenario/load.js')).loadScenarioFile(a.scenario);
  makeFolder(dirname(a.output));
  const file = a.file ?? join(dirname(a.output), 'disk-testfile.bin');
  const profile = await calibrateDisk({ ...defaultDiskOptions(file, expertBytes, a.quick), longSec: a.longSec ?? 0, longIdleSec: a.longIdleSec, progress: (m) => process.stderr.write(`  ${m}\n`) });
  writeDiskProfile(a.output, profile);
  process.stdout.write(`${formatDiskSummary(profile)}\n\nwrote ${a.output} (hardware.storage.profile reads it)\n`);
  if (a.scenario) process.stdout.write(`\n${await replayScenarioDisk({ scenario: a.scenario, profile: a.output, file, maxReads: a.maxReads ?? 64 })}\n`);
}

/**
 * `--scenario S`: the storage path of a scenario validated. Each policy of S is simulated with its
 * SSD replaced by the measured profile; the SSD reads the run made (at most `maxReads`) are then
 * read from a file on this disk, and the measured time is printed next to the simulated one.
 */
export async function replayScenarioDisk(a: { scenario: string; profile: string; file: string; maxReads: number }): Promise<string> {
  const { loadScenarioFile } = await import('../scenario/load.js');
  const { parseScenario } = await import('../scenario/load.js');
  const { prepareScenario, createPolicyCache, policyOptions, setupPolicyPredictors } = await import('../sim/run.js');
  const { planTiers, setupTiers } = await import('../sim/tier-plan.js');
  const { OffloadSim } = await import('../sim/offload-sim.js');
  const { replayDiskReads } = await import('./disk.js');
  const { resolve } = await import('node:path');
  const loaded = loadScenarioFile(a.scenario);
  const raw = loaded.raw as Record<string, unknown>;
  const hw = typeof raw.hardware === 'string' ? { preset: raw.hardware } : { ...(raw.hardware as object) };
  const scenario = parseScenario({ ...raw, hardware: { ...hw, storage: { profile: resolve(a.profile) } } }, a.scenario);
  const ctx = { baseDir: loaded.baseDir, file: a.scenario };
  const prep = await prepareScenario(scenario, ctx);
  const predictors = await setupPolicyPredictors(scenario, prep, ctx);
  const lines: string[] = [`storage path of ${a.scenario} on the measured disk (${prep.hardware.storage!.name}):`];
  for (let i = 0; i < scenario.policies.length; i++) {
    const p = scenario.policies[i];
    const pc = createPolicyCache(prep, p, i);
    const plan = planTiers(prep.hardware, p, i, { numLayers: prep.trace.numLayers, numExperts: prep.model.numExperts }, prep.cost.expertBytes, pc.plan.capacityExperts, scenario.hostTier);
    if (plan.mode !== 'three-tier') {
      lines.push(`  ${pc.label}: ${plan.mode}, no host tier in front of the SSD (not replayed)`);
      continue;
    }
    const options = policyOptions(prep, scenario, i, predictors, pc.label);
    const tiers = setupTiers(plan, prep.hardware, prep.cost, { numLayers: prep.trace.numLayers, numExperts: prep.model.numExperts });
    tiers.host!.readLog = [];
    options.tiers = tiers.host;
    new OffloadSim(prep.trace, tiers.cost, pc.cache, prep.newSource(), undefined, options).run();
    const keys = tiers.host!.readLog.slice(0, a.maxReads);
    if (keys.length === 0) {
      lines.push(`  ${pc.label}: no SSD reads`);
      continue;
    }
    const r = await replayDiskReads(a.file, keys, prep.cost.expertBytes, prep.hardware.storage!);
    lines.push(
      `  ${pc.label}: ${r.reads} of ${tiers.host!.readLog.length} SSD reads (${r.distinctExperts} experts of ${(r.expertBytes / 2 ** 20).toFixed(2)} MiB): measured ${(r.measuredSec * 1e3).toFixed(1)} ms, simulated ${(r.simulatedSec * 1e3).toFixed(1)} ms, error ${(100 * r.error).toFixed(1)}%`,
    );
  }
  return lines.join('\n');
}
