/**
 * Checks on what a run produced that catch a scenario which ran but cannot mean what its author
 * wanted (a prompt as long as every sequence, a reserve larger than the GPU): bad input, exit 2,
 * before anything is printed or written.
 */
import { plural } from '../report/style.js';
import type { RunResult } from '../metrics/types.js';
import type { Scenario } from '../scenario/schema.js';
import { InputError } from '../util/errors.js';

/** An InputError from resolving the scenario (model, hardware, presets, trace) names the scenario file. */
export function inScenarioFile(e: unknown, file: string): unknown {
  if (!(e instanceof InputError) || e.message.startsWith(`${file}:`) || e.message.startsWith(`${file} `)) return e;
  return new InputError(`${file}: ${e.message}`);
}

export function checkRunResult(result: RunResult, scenario: Scenario, file: string): void {
  const w = scenario.workload as { kind?: string; promptTokens?: number };
  if (w.kind !== 'serving' && typeof w.promptTokens === 'number' && w.promptTokens > 0 && result.results.length > 0) {
    // each sequence then emits only the token of its prefill: no inter-token gap to time
    const none = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
    const decoded = result.results.every((p) => none(p.metrics.tpotMs) && typeof p.metrics.outputTokens === 'number' && p.metrics.outputTokens <= result.trace.sequences);
    if (decoded) {
      throw new InputError(
        `${file}: workload.promptTokens: ${w.promptTokens} covers every sequence of the trace (${plural(result.trace.tokens, 'token')} in ${plural(result.trace.sequences, 'sequence')}), so no token is decoded and TPOT is undefined; expected fewer prompt tokens than the longest sequence`,
      );
    }
  }
  const tl = scenario.timeline;
  if (tl && result.results.length > 0 && result.results.every((p) => Array.isArray(p.timeline) && p.timeline.length === 0)) {
    throw new InputError(
      `${file}: timeline: steps ${tl.fromStep}..${tl.fromStep + tl.steps - 1} record nothing: the run has fewer steps (${plural(result.trace.tokens, 'token')} in ${plural(result.trace.sequences, 'sequence')}); expected a fromStep within the run`,
    );
  }
  if (result.results.length === scenario.policies.length) {
    scenario.policies.forEach((p, i) => {
      const cache = (p as { cache?: { hbm?: boolean; reserveGiB?: number } }).cache;
      const m = result.results[i].metrics;
      if (cache?.hbm === true && m.cacheCapacityExperts === 0) {
        throw new InputError(
          `${file}: policies[${i}].cache: {hbm: true${cache.reserveGiB ? `, reserveGiB: ${cache.reserveGiB}` : ''}} leaves no GPU memory for any expert (resident weights and KV cache use ${(m.gpuMemoryBytes / 2 ** 30).toFixed(2)} GiB); expected a smaller reserveGiB, or a larger GPU`,
        );
      }
    });
  }
}
