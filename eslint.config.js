import neostandard from 'neostandard'

// The style the code already follows (standard: no semicolons, two spaces), enforced by `npm test` rather than
// described. `void promise` marks a promise deliberately left to run on its own, so it stays allowed as a statement.
export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'models/**', 'bench-results/**', '.tap/**', 'coverage/**'] }),
  { rules: { 'no-void': ['error', { allowAsStatement: true }] } }
]
