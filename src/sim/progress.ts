/**
 * Run progress (RunContext.progress): a StepSource that counts the tokens of the steps it hands
 * out and reports every chunk. The steps themselves pass through unchanged, so progress never
 * changes a result.
 */
import type { StepSource } from '../trace/steps.js';

/** Reports at most once per this many tokens (a function call, not per step). */
const CHUNK_TOKENS = 1 << 14;

/** `source` with `report(tokens handed out so far)` called every CHUNK_TOKENS tokens. */
export function countedSource(source: StepSource, report: (tokens: number) => void): StepSource {
  let tokens = 0;
  let next = CHUNK_TOKENS;
  return {
    next(nowSec) {
      const step = source.next(nowSec);
      if (step) {
        tokens += step.count;
        if (tokens >= next) {
          next = tokens + CHUNK_TOKENS;
          report(tokens);
        }
      }
      return step;
    },
    get maxTokens() {
      return source.maxTokens;
    },
    get resumeSec() {
      return source.resumeSec;
    },
    get streams() {
      return source.streams;
    },
  };
}
