import type { Answer, LoopbackClient } from './loopback-client.js'
import { sleep } from './wait.js'

export interface Traffic {
  answers: Answer[]
  seconds: number
}

/** A closed loop: `clients` callers, each sending its next request as soon as its last one is answered. */
export async function closedLoop (client: LoopbackClient, request: (client: LoopbackClient) => Promise<Answer>, clients: number, until: { ms?: number, requestsEach?: number }): Promise<Traffic> {
  const answers: Answer[] = []
  const started = performance.now()
  const stopAt = started + (until.ms ?? Infinity)
  const caller = async (): Promise<void> => {
    for (let sent = 0; sent < (until.requestsEach ?? Infinity) && performance.now() < stopAt; sent++) {
      answers.push(await request(client))
    }
  }
  await Promise.all(Array.from({ length: clients }, caller))
  return { answers, seconds: (performance.now() - started) / 1000 }
}

export interface OpenLoopTraffic extends Traffic {
  /** Requests sent per second, as achieved (the generator shares the cores with the service). */
  offeredRate: number
  /** Arrivals skipped because `maxOutstanding` requests were already waiting: a stalled service shows up here. */
  skipped: number
  /** From the end of the sending window until the last answer came back. */
  drainMs: number
}

/**
 * An open loop: requests arrive at `rate` per second whatever the service answers, as independent users do; an
 * overloaded service cannot slow the arrivals down, only refuse them.
 */
export async function openLoop (client: LoopbackClient, request: (client: LoopbackClient) => Promise<Answer>, rate: number, ms: number, maxOutstanding: number): Promise<OpenLoopTraffic> {
  const answers: Answer[] = []
  const pending = new Set<Promise<void>>()
  let issued = 0
  let skipped = 0
  const started = performance.now()
  for (let now = started; now - started < ms; now = performance.now()) {
    const due = Math.floor(rate * (now - started) / 1000) - issued - skipped
    for (let i = 0; i < due; i++) {
      if (pending.size >= maxOutstanding) {
        skipped += 1
        continue
      }
      issued += 1
      const sending: Promise<void> = request(client).then((answer) => { answers.push(answer) }).finally(() => pending.delete(sending))
      pending.add(sending)
    }
    await sleep(2)
  }
  const sendingEnded = performance.now()
  await Promise.all(pending)
  return {
    answers,
    seconds: (sendingEnded - started) / 1000,
    offeredRate: issued / ((sendingEnded - started) / 1000),
    skipped,
    drainMs: performance.now() - sendingEnded
  }
}
