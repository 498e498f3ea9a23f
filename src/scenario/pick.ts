import { InputError } from '../util/errors.js';

/** The policies `--policy` names (run, replay, validate): an index in the scenario's list, or a label
 * (given, or as printed); a kind only where one policy has it (`lru` never picks three).
  */
export function pickPolicyIndices(policies: ReadonlyArray<{ kind: string; label?: string }>, printed: readonly string[], names: readonly string[], file: string): number[] {
  const out: number[] = [];
  // "a,b" names two policies, unless it is one label ("lru, 4/layer").
  const isLabel = (n: string) => policies.some((p, i) => p.label === n.trim() || printed[i] === n.trim());
  for (const name of names.flatMap((n) => (isLabel(n) ? [n] : n.split(','))).map((n) => n.trim()).filter(Boolean)) {
    let found = /^\d+$/.test(name) && Number(name) < policies.length ? [Number(name)] : [];
    if (found.length === 0) found = policies.map((p, i) => (p.label === name || printed[i] === name ? i : -1)).filter((i) => i >= 0);
    if (found.length === 0) {
      const ofKind = policies.map((p, i) => (p.kind === name ? i : -1)).filter((i) => i >= 0);
      if (ofKind.length === 1) found = ofKind;
      else {
        const known = policies.map((p, i) => `${i}: "${printed[i] ?? p.label ?? p.kind}"`).join(', ');
        throw new InputError(`--policy ${name}: ${ofKind.length > 1 ? `${ofKind.length} policies are ${name}; name one by label or index` : 'no such policy'} in ${file}; it has ${known}`);
      }
    }
    for (const i of found) if (!out.includes(i)) out.push(i);
  }
  return out;
}

