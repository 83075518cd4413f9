/**
 * The demo page's script, plain browser JavaScript kept in a string (no build step, nothing fetched but the
 * service's own endpoints). Written without template literals so that it sits inside this TypeScript one as is.
 * Text from the service (labels, messages) only ever goes into textContent, never into HTML.
 */
export const demoScript = `
'use strict'

/** The three pictures, and the head each needs (features come from the backbone alone). */
const results = [
  { key: 'features', path: '/features?format=png', task: null },
  { key: 'segment', path: '/segment?format=overlay', task: 'segmentation' },
  { key: 'depth', path: '/depth?format=color', task: 'depth' }
]
const byId = (id) => document.getElementById(id)
const objectUrls = {}
let modelInfo = loadModel()

function showObject (key, blob) {
  if (objectUrls[key]) URL.revokeObjectURL(objectUrls[key])
  objectUrls[key] = URL.createObjectURL(blob)
  return objectUrls[key]
}

function setState (key, text, kind) {
  const state = byId(key + '-state')
  state.textContent = text
  state.className = 'state' + (kind ? ' ' + kind : '')
  state.hidden = text === ''
}

/** The service's JSON error, or whatever came instead of it. */
async function describeFailure (response) {
  const text = await response.text()
  try {
    const body = JSON.parse(text)
    return response.status + ' ' + body.error + ': ' + body.message
  } catch {
    return response.status + ' ' + (text || response.statusText)
  }
}

async function loadModel () {
  const banner = byId('model-error')
  try {
    const response = await fetch('/models')
    if (!response.ok) {
      banner.textContent = 'Model not available: ' + await describeFailure(response)
      banner.hidden = false
      const retry = Number(response.headers.get('retry-after'))
      if (retry > 0) {
        await new Promise((resolve) => setTimeout(resolve, retry * 1000))
        return loadModel()
      }
      return null
    }
    const model = await response.json()
    banner.hidden = true
    showModel(model)
    return model
  } catch (error) {
    banner.textContent = 'Cannot reach the service: ' + error.message
    banner.hidden = false
    return null
  }
}

function showModel (model) {
  const b = model.backbone
  const facts = [
    ['name', b.name], ['type', b.type], ['weights', b.synthetic ? 'SYNTHETIC (random)' : 'trained'],
    ['patch', b.patch_size + ' px'], ['channels', String(b.hidden_size)], ['registers', String(b.registers)],
    ['variant', b.variant], ['provider', b.execution_provider], ['dense cap', b.dense_max_side + ' px'],
    ['heads', model.heads.length === 0 ? 'none' : model.heads.map((h) => h.name + ' (' + h.task + ')').join(', ')]
  ]
  const list = byId('model-facts')
  list.replaceChildren()
  for (const [term, value] of facts) {
    const dt = document.createElement('dt')
    dt.textContent = term
    const dd = document.createElement('dd')
    dd.textContent = value
    dd.dataset.fact = term
    list.append(dt, dd)
  }
  byId('synthetic').hidden = !b.synthetic
  for (const result of results) {
    if (result.task !== null && headFor(model, result.task) === undefined) {
      setState(result.key, 'This model has no ' + result.task + ' head, so there is nothing to show here. ' +
        'Heads live in <model>/heads/<name>/ (see README).', 'absent')
    }
  }
}

function headFor (model, task) {
  return model.heads.find((head) => head.task === task)
}

function showTimings (key, response, roundTrip) {
  const list = byId(key + '-timings')
  list.replaceChildren()
  const timings = [
    ['total', response.headers.get('x-total-time')],
    ['inference', response.headers.get('x-inference-time')],
    ['queue', response.headers.get('x-queue-time')],
    ['round trip', roundTrip.toFixed(1)]
  ]
  for (const [name, ms] of timings) {
    if (ms === null) continue
    const item = document.createElement('li')
    item.dataset.timing = name
    const label = document.createElement('b')
    label.textContent = name + ' '
    item.append(label, ms + ' ms')
    list.append(item)
  }
}

/** x-legend is label=#rrggbb pairs joined by ';', each label URL-encoded. */
function showLegend (header) {
  const list = byId('segment-legend')
  list.replaceChildren()
  for (const pair of (header || '').split(';').filter(Boolean)) {
    const cut = pair.lastIndexOf('=')
    const item = document.createElement('li')
    const swatch = document.createElement('span')
    swatch.className = 'swatch'
    swatch.style.background = pair.slice(cut + 1)
    item.append(swatch, decodeURIComponent(pair.slice(0, cut)))
    list.append(item)
  }
}

async function run (result, file, model) {
  const picture = byId(result.key + '-img')
  picture.hidden = true
  byId(result.key + '-timings').replaceChildren()
  if (result.key === 'segment') showLegend('')
  let url = result.path
  if (result.task !== null) {
    const head = model === null ? undefined : headFor(model, result.task)
    if (model !== null && head === undefined) return
    // Naming the head keeps the page working when a model has several heads of one task.
    if (head !== undefined) url += '&head=' + encodeURIComponent(head.name)
  }
  setState(result.key, 'running…')
  const started = performance.now()
  let response
  try {
    response = await fetch(url, { method: 'POST', body: file, headers: { 'content-type': file.type || 'application/octet-stream' } })
  } catch (error) {
    setState(result.key, 'The request failed: ' + error.message, 'error')
    return
  }
  if (!response.ok) {
    setState(result.key, await describeFailure(response), 'error')
    return
  }
  const blob = await response.blob()
  const roundTrip = performance.now() - started
  picture.onload = () => { picture.hidden = false; setState(result.key, '') }
  picture.onerror = () => setState(result.key, 'The answer is not a picture the browser can show', 'error')
  picture.src = showObject(result.key, blob)
  showTimings(result.key, response, roundTrip)
  if (result.key === 'segment') showLegend(response.headers.get('x-legend'))
}

async function analyse (file) {
  if (!file) return
  const preview = byId('preview')
  // A file the browser cannot show (TIFF, or no image at all) gets no broken-picture icon; the service still judges it.
  preview.onerror = () => { preview.hidden = true }
  preview.onload = () => { preview.hidden = false }
  preview.src = showObject('preview', file)
  byId('file-name').textContent = file.name + ' (' + Math.round(file.size / 1024) + ' KiB)'
  const model = await modelInfo
  if (model === null) modelInfo = loadModel()
  // All three at once: the service batches them into shared backbone runs.
  await Promise.all(results.map((result) => run(result, file, model)))
}

const drop = byId('drop')
const input = byId('file')
input.addEventListener('change', () => analyse(input.files[0]))
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', (event) => {
  event.preventDefault()
  drop.classList.remove('over')
  analyse(event.dataTransfer.files[0])
})
// A file dropped beside the zone would otherwise replace the page with the image.
window.addEventListener('dragover', (event) => event.preventDefault())
window.addEventListener('drop', (event) => event.preventDefault())
`
