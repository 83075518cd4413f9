import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { startApp } from '../helpers/app.js'
import { patternPng } from '../helpers/images.js'
import { syntheticModel } from '../helpers/models.js'

// Debian's Chromium, never a downloaded one: the test needs no network.
const chromiumPath = '/usr/bin/chromium'
const skip = existsSync(chromiumPath) ? false : `no ${chromiumPath}: apt-get install chromium to run the browser test`

const pictures = ['features', 'segment', 'depth']

/**
 * One server per model folder and one Chromium for the whole file, each started at first use: a launch costs seconds
 * of CPU, and every test opens its own page (its own browser context), so nothing a page does reaches another test.
 */
const servers = new Map<string, Promise<string>>()
async function serve (model: string): Promise<string> {
  let origin = servers.get(model)
  if (origin === undefined) {
    origin = startApp(t, model).then(async (app) => app.listen({ port: 0, host: '127.0.0.1' }))
    servers.set(model, origin)
  }
  return origin
}

let browser: Promise<Browser> | undefined
async function launch (): Promise<Browser> {
  if (browser === undefined) {
    browser = chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']
    })
    const launched = browser
    t.teardown(async () => (await launched).close())
  }
  return browser
}

/**
 * A page that may only talk to the service: any other request is refused and listed in `problems`, and so is
 * any script error, so that a page needing the internet or throwing cannot pass.
 */
async function openPage (t: Test, browser: Browser, origin: string, path: string): Promise<{ page: Page, problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  t.teardown(async () => page.close())
  const problems: string[] = []
  await page.route('**/*', async (route) => {
    const url = route.request().url()
    if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue()
    problems.push(`request outside the service: ${url}`)
    return route.abort()
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // The browser logs every non-2xx fetch; the error tests cause some on purpose.
    if (message.type() === 'error' && !/status of \d{3}/.test(message.text())) problems.push(`console error: ${message.text()}`)
  })
  await page.goto(origin + path)
  return { page, problems }
}

/** Written as a string: it runs in the page, and this project compiles without the DOM's types. */
const visiblePictures = (page: Page, keys: string[]) => page.waitForFunction(`${JSON.stringify(keys)}.every((key) => {
  const img = document.getElementById(key + '-img')
  return img !== null && !img.hidden && img.complete && img.naturalWidth > 0
})`, undefined, { timeout: 120_000 })

interface Picture { naturalWidth: number, naturalHeight: number }

t.test('the demo page shows features, segmentation and depth for an uploaded image', { skip }, async (t) => {
  const origin = await serve(syntheticModel({ preset: 'tiny', heads: true }))
  const browser = await launch()
  const { page, problems } = await openPage(t, browser, origin, '/')

  await page.locator('[data-fact="weights"]').filter({ hasText: 'SYNTHETIC' }).waitFor()
  t.ok(await page.locator('#synthetic').isVisible(), 'the synthetic-weights warning is shown')
  t.match(await page.locator('#synthetic').textContent(), /random weights/)
  const heads = await page.locator('[data-fact="heads"]').textContent()
  t.match(heads, /segmentation \(segmentation\)/)
  t.match(heads, /depth \(depth\)/)

  const width = 320
  const height = 240
  await page.setInputFiles('#file', { name: 'pattern.png', mimeType: 'image/png', buffer: await patternPng(width, height) })
  await visiblePictures(page, pictures)
  for (const key of pictures) {
    const size = await page.locator(`#${key}-img`).evaluate((img) => [(img as unknown as Picture).naturalWidth, (img as unknown as Picture).naturalHeight])
    t.same(size, [width, height], `${key}: a picture at the upload's size`)
    for (const timing of ['total', 'inference', 'queue']) {
      const text = await page.locator(`#${key}-timings [data-timing="${timing}"]`).textContent()
      t.match(text, /^\S+( \S+)? \d+(\.\d+)? ms$/, `${key}: ${timing} time shown (${text})`)
    }
    t.equal(await page.locator(`#${key}-state`).isVisible(), false, `${key}: no error or progress line left`)
  }
  const legend = await page.locator('#segment-legend li').allTextContents()
  t.ok(legend.length > 0, `the legend lists the classes present: ${legend.join(', ')}`)
  for (const label of legend) t.match(label, /^class_\d$/, 'each legend entry is one of the head\'s labels')
  const swatches = await page.locator('#segment-legend .swatch').evaluateAll((spans) =>
    spans.map((span) => (span as unknown as { style: { backgroundColor: string } }).style.backgroundColor))
  t.ok(swatches.length === legend.length && swatches.every((colour) => /^rgb\(\d+, \d+, \d+\)$/.test(colour)), `each with its colour: ${swatches.join(' ')}`)

  // Kept after the run (in .tap/fixtures) so that a person can look at the page.
  t.saveFixture = true
  const screenshot = join(t.testdir(), 'demo.png')
  await page.screenshot({ path: screenshot, fullPage: true })
  t.comment(`screenshot: ${screenshot}`)

  // A file the service refuses: every card shows the JSON error's code and message, and no picture.
  await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') })
  for (const key of pictures) {
    const state = page.locator(`#${key}-state.error`)
    await state.waitFor()
    t.match(await state.textContent(), /^415 unsupported_media_type: Unsupported Media Type: send the image/, `${key}: the error message`)
    t.equal(await page.locator(`#${key}-img`).isVisible(), false, `${key}: the old picture is gone`)
  }
  t.same(problems, [], 'no script errors and no request outside the service')
})

t.test('without heads the page says so and still shows the features', { skip }, async (t) => {
  const origin = await serve(syntheticModel({ preset: 'tiny' }))
  const browser = await launch()
  const { page, problems } = await openPage(t, browser, origin, '/')
  await page.locator('[data-fact="heads"]').filter({ hasText: 'none' }).waitFor()
  await page.setInputFiles('#file', { name: 'pattern.png', mimeType: 'image/png', buffer: await patternPng(96, 64) })
  await visiblePictures(page, ['features'])
  t.match(await page.locator('#segment-state.absent').textContent(), /no segmentation head/)
  t.match(await page.locator('#depth-state.absent').textContent(), /no depth head/)
  t.equal(await page.locator('#segment-img').isVisible(), false)
  t.equal(await page.locator('#depth-img').isVisible(), false)
  t.same(problems, [], 'no script errors and no request outside the service')
})

t.test('/docs renders every operation from the installed Swagger UI, offline', { skip }, async (t) => {
  const origin = await serve(syntheticModel({ preset: 'tiny', heads: true }))
  const browser = await launch()
  const { page, problems } = await openPage(t, browser, origin, '/docs')
  await page.locator('.opblock').nth(8).waitFor({ timeout: 60_000 })
  const operations = await page.locator('.opblock-summary-path').allTextContents()
  t.same([...operations].map((path) => path.replace(/\u200b/g, '')).sort(),
    ['/analyze', '/classify', '/depth', '/embed', '/features', '/heads/{name}', '/heads/{name}', '/heads/{name}/job',
      '/health/live', '/health/ready', '/metrics', '/models', '/segment'])
  t.equal(await page.locator('.errors-wrapper').count(), 0, 'Swagger UI reports no errors in the document')

  // Try it out as a person would: the documented raw body takes a file, and the prefilled parameters work.
  const embed = page.locator('#operations-backbone-post_embed')
  await embed.locator('.opblock-summary').click()
  await embed.locator('.try-out__btn').click()
  await embed.locator('input[type="file"]').setInputFiles({ name: 'pattern.png', mimeType: 'image/jpeg', buffer: await patternPng(64, 48) })
  await embed.locator('.execute').click()
  const status = embed.locator('.live-responses-table .response .response-col_status')
  await status.first().waitFor({ timeout: 60_000 })
  t.equal((await status.first().textContent())?.trim(), '200', 'POST /embed from Try it out answers 200')
  t.match(await embed.locator('.live-responses-table .microlight').first().textContent(), /"embeddings"/)
  t.same(problems, [], 'no script errors and no request outside the service')
})
