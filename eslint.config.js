import neostandard from 'neostandard'

// The style the code already follows (standard: no semicolons, two spaces), enforced by `npm test` rather than
// described. `void promise` marks a promise deliberately left to run on its own, so it stays allowed as a statement;
// loops that wait for a flag another async task sets (`while (running)`) look unmodified to
// no-unmodified-loop-condition, which cannot see across awaits, so that rule is off.
export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'models/**', 'bench-results/**', '.tap/**', 'coverage/**'] }),
  { rules: { 'no-void': ['error', { allowAsStatement: true }], 'no-unmodified-loop-condition': 'off' } }
]
