import { cpuPresets, linkPresets, runtimes, type ExecutionSemantics } from '../../src/timing/execution-semantics.js';

/** Execution semantics for cost-model tests: eager PyTorch, pinned uploads on a copy engine, no write-back; `over` replaces fields. */
export const baseSemantics = (over: Partial<ExecutionSemantics> = {}): ExecutionSemantics => ({
  runtime: runtimes['eager-pytorch'],
  link: linkPresets.pinned,
  expertCopies: 'copy-engine',
  writeBackEvicted: false,
  cpu: cpuPresets['pytorch-eager-cpu'],
  sources: [],
  ...over,
});
