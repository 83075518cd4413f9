import { demoScript } from './script.js'
import { demoStyles } from './styles.js'

/** One result card: its picture, what it shows, a state line (running, error, no head), timings. */
const card = (key: string, title: string, what: string, extra = ''): string => `
    <section class="card" id="${key}">
      <h2>${title}</h2>
      <p class="what">${what}</p>
      <p class="state" id="${key}-state">Waiting for an image.</p>
      <img id="${key}-img" alt="${title}" hidden>
      ${extra}
      <ul class="timings" id="${key}-timings" aria-label="timings"></ul>
    </section>`

/**
 * The demo at `/`: drop an image, see the PCA features, the segmentation overlay and the depth map side by side,
 * with the service's timings and the model it runs. Self-contained HTML (inline CSS and JS, no network but
 * the service), so that it works offline and needs no build step.
 */
export const demoPage = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>DINOv3 demo</title>
  <style>${demoStyles}</style>
</head>
<body>
  <header>
    <h1>DINOv3 inference service</h1>
    <span>features · segmentation · depth from one backbone</span>
    <nav><a href="/docs">API docs</a><a href="/openapi.json">OpenAPI</a><a href="/models">/models</a></nav>
  </header>
  <main>
    <p class="banner synthetic" id="synthetic" hidden>
      Synthetic model: these are random weights made for testing, not DINOv3. The pictures show that the pipeline
      runs end to end; what they show means nothing. Start the service with MODEL=&lt;a real model folder&gt; (npm run model:pull).
    </p>
    <p class="banner error" id="model-error" hidden></p>
    <div class="top">
      <label id="drop" for="file">
        <img id="preview" alt="the uploaded image" hidden>
        <strong>Drop an image here, or pick one</strong>
        <input type="file" id="file" accept="image/*">
        <span class="hint" id="file-name">JPEG, PNG, WebP, TIFF, GIF or AVIF</span>
      </label>
      <section class="panel">
        <h2>Model</h2>
        <dl id="model-facts"><dt>status</dt><dd>loading…</dd></dl>
      </section>
    </div>
    <div class="results">${[
      card('features', 'PCA features', 'The first three principal components of the patch features as RGB (/features?format=png).'),
      card('segment', 'Segmentation', 'The picture tinted with a colour per class (/segment?format=overlay).',
        '<ul class="legend" id="segment-legend" aria-label="legend"></ul>'),
      card('depth', 'Depth', 'Near to far along the turbo colour map (/depth?format=color).')
    ].join('')}
    </div>
  </main>
  <script>${demoScript}</script>
</body>
</html>
`
