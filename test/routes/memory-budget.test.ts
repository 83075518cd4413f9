import t from 'tap'
import { imageHeaders, startApp } from '../helpers/app.js'
import { patternJpeg } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

const model = syntheticModel({ preset: 'tiny', seed: 12 })

t.test('a burst beyond MAX_QUEUED_PIXELS is refused with 429 and Retry-After, and what is admitted is answered right', async (t) => {
  // size=256 of a 512×384 picture is a 256×192 model input: the budget holds three such images.
  const imagePixels = 256 * 192
  const app = await startApp(t, model, { MAX_QUEUED_PIXELS: String(3 * imagePixels), MAX_CONCURRENT_REQUESTS: '200', REQUEST_TIMEOUT_MS: '600000' })
  const engine = app.modelHost.require()
  const jpeg = await patternJpeg(512, 384, 5)
  const send = async (): Promise<{ statusCode: number, headers: Record<string, unknown>, rawPayload: Buffer, json: () => { error: string, message: string } }> =>
    app.inject({ method: 'POST', url: '/features?size=256', headers: imageHeaders('image/jpeg'), payload: jpeg })
  const alone = await send()
  t.equal(alone.statusCode, 200)

  const rssBefore = process.memoryUsage().rss
  let mostHeld = 0
  let mostRss = rssBefore
  const sampler = setInterval(() => {
    mostHeld = Math.max(mostHeld, engine.pixels.held)
    mostRss = Math.max(mostRss, process.memoryUsage().rss)
  }, 1)
  const answers = await Promise.all(Array.from({ length: 60 }, send))
  clearInterval(sampler)

  const ok = answers.filter((a) => a.statusCode === 200)
  const refused = answers.filter((a) => a.statusCode === 429)
  t.comment(`${ok.length} answered, ${refused.length} refused; at most ${mostHeld} pixels held; RSS +${((mostRss - rssBefore) / 2 ** 20).toFixed(0)} MiB`)
  t.equal(ok.length + refused.length, answers.length, 'every answer is a 200 or a 429')
  t.ok(refused.length > 0, 'some are refused')
  t.ok(ok.length >= 3, 'the budget admits work')
  for (const answer of refused) {
    t.equal(answer.headers['retry-after'], '1')
    t.equal(answer.json().error, 'overloaded')
    t.match(answer.json().message, /of its 0\.1 megapixels of decoded images \(MAX_QUEUED_PIXELS\)/)
  }
  t.ok(ok.every((a) => a.rawPayload.equals(alone.rawPayload)), 'every admitted answer equals the lone answer')
  t.ok(mostHeld <= 3 * imagePixels, `never more than the budget held (${mostHeld})`)
  t.ok(mostRss - rssBefore < 256 * 2 ** 20, 'RSS grew by less than 256 MiB')
  t.equal(engine.pixels.held, 0, 'everything given back')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /dinov3_held_pixels 0\n/)
})

t.test('one image larger than the whole budget still runs on an idle service', async (t) => {
  const app = await startApp(t, model, { MAX_QUEUED_PIXELS: '1000' })
  const answer = await app.inject({ method: 'POST', url: '/embed', headers: imageHeaders('image/jpeg'), payload: await patternJpeg(300, 200) })
  t.equal(answer.statusCode, 200)
})
