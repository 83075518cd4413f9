import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { sampleEveryMs } from '../../src/plugins/loop-health.js'
import { spawnServer } from '../stress/scenarios/server-process.js'
import { sleep } from '../stress/scenarios/wait.js'

t.test('the loop is sampled at a quarter of the threshold, between every 10 and every 100 ms', async (t) => {
  t.equal(sampleEveryMs(1000), 100, 'the default threshold')
  t.equal(sampleEveryMs(600_000), 100)
  t.equal(sampleEveryMs(100), 25)
  t.equal(sampleEveryMs(20), 10)
  t.equal(sampleEveryMs(0), 100, 'no threshold: the histogram alone')
})

/** How often the thread `tid` of process `pid` went to sleep and was woken since it started. */
function wakeUps (pid: number, tid = pid): number {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
  return Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1])
}

t.test('an idle service wakes its event loop a few times a second, not 120', { skip: !existsSync('/proc/self/task') && 'needs /proc' }, async (t) => {
  // With a 20 ms sampler of its own and prom-client's every 10 ms, the event loop woke 123 times a second with nothing
  // to do, and spent 23–28 ms of CPU a second doing it (BENCHMARKS.md, eighth round).
  const server = await spawnServer({})
  t.teardown(server.kill)
  await sleep(1000)
  const pid = server.child.pid as number
  const before = wakeUps(pid)
  const seconds = 3
  await sleep(seconds * 1000)
  const perSecond = (wakeUps(pid) - before) / seconds
  t.comment(`the idle event loop woke ${perSecond.toFixed(1)} times a second`)
  t.ok(perSecond > 5, 'the samplers run')
  t.ok(perSecond < 40, `at most 40 wake-ups a second (${perSecond.toFixed(1)})`)
})
