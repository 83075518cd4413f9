/** One pass/fail criterion of a scenario, with the numbers behind it. */
export interface Check {
  name: string
  ok: boolean
  detail: string
}

/** What a scenario measured and how it was judged: the tests assert the checks, the stress script prints both. */
export interface Report {
  scenario: string
  numbers: Record<string, number | string>
  checks: Check[]
}

export const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail })

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits

export const mib = (bytes: number): number => round(bytes / 1024 / 1024, 1)
