/**
 * `--fail-on` rules: thresholds on a diff that let CI gate a change on the exit code. Parsing
 * (`accuracy-drop=0.01,recall-drop=0.05,broken-model-tests`) and checking are pure; the CLI maps
 * a crossed rule to exit code 3.
 *
 * Invariants:
 * - Drops are after minus before, in fractions (0.01 = one point); a rule is crossed when the
 *   drop is greater than its threshold (with a 1e-9 tolerance, so `accuracy-drop=0.01` passes
 *   a drop of exactly one point whatever the floating-point rounding).
 * - A rule about behaviour is crossed when there is no behaviour to check (a side without a
 *   model): CI must not pass a change it could not check.
 */
import { InvalidArgument } from '../errors/index.js';
import type { BehaviourDiff } from './behaviour-diff.js';
import type { DataDiff } from './data-diff.js';

export type FailRuleKind =
  | 'accuracy-drop'
  | 'f1-drop'
  | 'recall-drop'
  | 'precision-drop'
  | 'significant-drop'
  | 'broken-model-tests'
  | 'broken'
  | 'moved';

export interface FailRule {
  kind: FailRuleKind;
  threshold: number;
  /** The rule as written, normalised (`accuracy-drop=0.01`, `broken-model-tests`). */
  text: string;
}

export interface FailCheck {
  rule: string;
  failed: boolean;
  /** The observed figure the threshold applies to (a drop, a count, a p-value); null when there was nothing to observe. */
  observed: number | null;
  threshold: number;
  detail: string;
}

interface RuleSpec {
  /** Default threshold when the rule is written without a value. */
  dflt: number;
  /** What the value is, for help and errors. */
  value: 'fraction' | 'count' | 'p-value';
  help: string;
}

/**
 * The `--fail-on` rules, with their default thresholds and what crosses them.
 *
 * @example
 * for (const [name, r] of Object.entries(FAIL_RULES)) console.log(`${name}: ${r.help}`);
 */
export const FAIL_RULES: Readonly<Record<FailRuleKind, RuleSpec>> = {
  'accuracy-drop': { dflt: 0, value: 'fraction', help: 'accuracy fell by more than X' },
  'f1-drop': { dflt: 0, value: 'fraction', help: 'macro-F1 fell by more than X' },
  'recall-drop': { dflt: 0, value: 'fraction', help: "some class's recall fell by more than X" },
  'precision-drop': { dflt: 0, value: 'fraction', help: "some class's precision fell by more than X" },
  'significant-drop': { dflt: 0.05, value: 'p-value', help: "accuracy fell and McNemar's p is below X (default 0.05)" },
  'broken-model-tests': { dflt: 0, value: 'count', help: 'more than N model tests broke (default 0)' },
  broken: { dflt: 0, value: 'count', help: 'more than N items broke (right before, wrong after; default 0)' },
  moved: { dflt: 0, value: 'count', help: 'more than N items moved between splits (default 0)' },
};

const EPS = 1e-9;

/**
 * Parse `--fail-on` text: comma-separated rules, each `name` or `name=value`; throws
 * InvalidArgument for an unknown rule or a bad value.
 *
 * @example
 * parseFailOn('accuracy-drop=0.01,broken-model-tests');
 * // [{ kind: 'accuracy-drop', threshold: 0.01, text: 'accuracy-drop=0.01' }, { kind: 'broken-model-tests', threshold: 0, text: 'broken-model-tests' }]
 */
export function parseFailOn(text: string): FailRule[] {
  const rules: FailRule[] = [];
  const example = "e.g. option 'failOn' accuracy-drop=0.01,recall-drop=0.05,broken-model-tests";
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : part.slice(eq + 1).trim();
    const spec = (FAIL_RULES as Record<string, RuleSpec>)[name];
    if (!spec) throw new InvalidArgument(`unknown option 'failOn' rule '${name}' (known: ${Object.keys(FAIL_RULES).join(', ')})`, { hint: example });
    const threshold = value === undefined ? spec.dflt : Number(value);
    if (value === '' || !Number.isFinite(threshold) || threshold < 0) {
      throw new InvalidArgument(`option 'failOn' rule '${name}' needs a number >= 0, not '${value}'`, { hint: example });
    }
    if (spec.value === 'count' && !Number.isInteger(threshold)) throw new InvalidArgument(`option 'failOn' rule '${name}' needs a whole number, not '${value}'`, { hint: example });
    if (spec.value !== 'count' && threshold > 1) {
      throw new InvalidArgument(`option 'failOn' rule '${name}' takes a fraction (0.01 = one point), not '${value}'`, { hint: example });
    }
    rules.push({ kind: name as FailRuleKind, threshold, text: value === undefined ? name : `${name}=${threshold}` });
  }
  if (!rules.length) throw new InvalidArgument("option 'failOn' needs at least one rule", { hint: example });
  return rules;
}

const pts = (x: number) => `${(x * 100).toFixed(2)} pts`;
const items = (n: number) => `${n} item${n === 1 ? '' : 's'}`;

function dropCheck(rule: FailRule, what: string, delta: number): FailCheck {
  const drop = -delta;
  const detail = Math.abs(delta) < EPS ? `${what} unchanged` : `${what} ${delta > 0 ? 'rose' : 'fell'} ${pts(Math.abs(delta))}`;
  return { rule: rule.text, failed: drop > rule.threshold + EPS, observed: drop, threshold: rule.threshold, detail };
}

function worstClass(rule: FailRule, b: BehaviourDiff, metric: 'recall' | 'precision'): FailCheck {
  const worst = [...b.perClass].sort((x, y) => x[metric].delta - y[metric].delta)[0];
  if (!worst) return { rule: rule.text, failed: false, observed: null, threshold: rule.threshold, detail: 'no classes' };
  const drop = -worst[metric].delta;
  const detail = drop > 0 ? `largest ${metric} drop: '${worst.label}' ${pts(drop)}` : `no class's ${metric} fell`;
  return { rule: rule.text, failed: drop > rule.threshold + EPS, observed: Math.max(0, drop), threshold: rule.threshold, detail };
}

/**
 * Check a diff's data and behaviour against rules, in the rules' order (`diff` does it for
 * its `failOn` option).
 *
 * @example
 * const checks = checkFailOn(await diff({ a: 'main' }), parseFailOn('recall-drop=0.05'));
 * if (checks.some((c) => c.failed)) process.exitCode = 3;
 */
export function checkFailOn(d: { data: DataDiff; behaviour: BehaviourDiff | null }, rules: readonly FailRule[]): FailCheck[] {
  const b = d.behaviour;
  return rules.map((r): FailCheck => {
    if (r.kind === 'moved') {
      return { rule: r.text, failed: d.data.movedCount > r.threshold, observed: d.data.movedCount, threshold: r.threshold, detail: `${items(d.data.movedCount)} moved between splits` };
    }
    if (!b) return { rule: r.text, failed: true, observed: null, threshold: r.threshold, detail: 'no behaviour to check: a side has no model' };
    switch (r.kind) {
      case 'accuracy-drop':
        return dropCheck(r, 'accuracy', b.accuracy.delta);
      case 'f1-drop':
        return dropCheck(r, 'macro-F1', b.macroF1.delta);
      case 'recall-drop':
        return worstClass(r, b, 'recall');
      case 'precision-drop':
        return worstClass(r, b, 'precision');
      case 'significant-drop': {
        const p = b.significance.pValue;
        const fell = b.accuracy.delta < -EPS;
        return {
          rule: r.text, failed: fell && p < r.threshold, observed: p, threshold: r.threshold,
          detail: `accuracy ${fell ? 'fell' : 'did not fall'}; McNemar p = ${p.toPrecision(3)}${fell ? (p < r.threshold ? ' (unlikely to be noise)' : ' (could be noise)') : ''}`,
        };
      }
      case 'broken-model-tests': {
        const n = b.modelTests.broken.length;
        return { rule: r.text, failed: n > r.threshold, observed: n, threshold: r.threshold, detail: `${n} of ${b.modelTests.count} model test${b.modelTests.count === 1 ? '' : 's'} broke` };
      }
      case 'broken': {
        const n = b.significance.broken;
        return { rule: r.text, failed: n > r.threshold, observed: n, threshold: r.threshold, detail: `${items(n)} broke` };
      }
    }
  });
}
