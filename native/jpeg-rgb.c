/*
 * A JPEG decoded straight to the model's input size: libjpeg-turbo decodes (scaling by 1/2, 1/4 or 1/8 in the DCT
 * where the resize allows, as sharp does), then one separable resample in floats writes the RGB bytes. Runs on
 * libuv's thread pool, off the event loop. Anything this path does not treat as libvips would (CMYK, warnings
 * such as a truncated file, enlarging, more than MAX_DECODED_PIXELS) is refused with code "ERR_NATIVE_JPEG_REFUSED",
 * and the caller decodes with sharp instead.
 */
#include <node_api.h>
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

enum kernel { KERNEL_LINEAR = 0, KERNEL_CUBIC = 1, KERNEL_LANCZOS3 = 2 };

/* The whole decoded image and a float copy of its rows are held at once: larger ones go to sharp, which streams. */
#define MAX_DECODED_PIXELS (1 << 22)

struct job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char *input;
  size_t input_length;
  int width, height;           /* resized size */
  int crop_left, crop_top, crop_width, crop_height;
  /* EXIF orientation (1–8): the decoded pixels are turned to it before the resample, as libvips' autorotate does. */
  int orientation;
  enum kernel kernel;
  unsigned char *output;       /* crop_width × crop_height × 3 */
  /* Optional: the model's input tensor (3 planes of padded_width × padded_height), written through the per-channel
   * normalisation table (3 × 256 floats) instead of handing the bytes back. */
  float *tensor;
  const float *table;
  int padded_width, padded_height;
  napi_ref tensor_ref, table_ref;
  char error[JMSG_LENGTH_MAX + 64];
};

struct decoder_error {
  struct jpeg_error_mgr base;
  jmp_buf escape;
  int warnings;
};

static void on_error (j_common_ptr info) {
  longjmp(((struct decoder_error *) info->err)->escape, 1);
}

static void on_message (j_common_ptr info, int level) {
  /* Level -1 is a warning about corrupt data (a truncated file among them): libvips fails on those. */
  if (level < 0) ((struct decoder_error *) info->err)->warnings++;
}

static double filter (enum kernel kernel, double x) {
  x = fabs(x);
  switch (kernel) {
    case KERNEL_LINEAR:
      return x < 1 ? 1 - x : 0;
    case KERNEL_CUBIC: /* Catmull-Rom, as libvips' cubic */
      if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
      if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
      return 0;
    case KERNEL_LANCZOS3:
      if (x == 0) return 1;
      if (x >= 3) return 0;
      return 3 * sin(M_PI * x) * sin(M_PI * x / 3) / (M_PI * M_PI * x * x);
  }
  return 0;
}

static double support_of (enum kernel kernel) {
  return kernel == KERNEL_LINEAR ? 1 : kernel == KERNEL_CUBIC ? 2 : 3;
}

/*
 * For each output position, the first input index, the tap count and normalised weights. Taps may reach past the
 * input's edges (which extend it): `before` and `after` say how far, at most.
 */
struct taps {
  int count;
  int before;
  int after;
  int *first;
  float *weights; /* out × count */
};

static int make_taps (struct taps *taps, int in, int out, enum kernel kernel) {
  const double scale = (double) in / out;
  const double stretch = scale > 1 ? scale : 1;
  const double support = support_of(kernel) * stretch;
  taps->count = (int) ceil(2 * support) + 1;
  taps->before = 0;
  taps->after = 0;
  taps->first = malloc(sizeof(int) * out);
  taps->weights = malloc(sizeof(float) * out * taps->count);
  if (taps->first == NULL || taps->weights == NULL) return 0;
  for (int i = 0; i < out; i++) {
    const double centre = (i + 0.5) * scale;
    const int first = (int) floor(centre - support + 0.5);
    double sum = 0;
    float *w = taps->weights + i * taps->count;
    for (int k = 0; k < taps->count; k++) {
      w[k] = (float) filter(kernel, (first + k + 0.5 - centre) / stretch);
      sum += w[k];
    }
    for (int k = 0; k < taps->count; k++) w[k] = (float) (w[k] / sum);
    taps->first[i] = first;
    if (-first > taps->before) taps->before = -first;
    if (first + taps->count - in > taps->after) taps->after = first + taps->count - in;
  }
  return 1;
}

static void free_taps (struct taps *taps) {
  free(taps->first);
  free(taps->weights);
}

static inline int clamp_index (int i, int size) {
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}

static inline unsigned char to_byte (float v) {
  return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char) (v + 0.5f);
}

/* One pixel's red, green and blue as floats (and a lane unused): the horizontal pass adds the three at once. */
typedef float pixel __attribute__((vector_size(4 * sizeof(float))));

/*
 * The decoded image (rgb, in_w × in_h) resampled to width × height, then the crop rectangle written out. Both passes
 * add the same products in the same order as the plain loops would; they only read floats made once per input
 * sample, edges already extended, in vectors: a pixel's three channels across, whole rows down.
 */
static int resample (struct job *job, const unsigned char *rgb, int in_w, int in_h) {
  struct taps across = { 0 }, down = { 0 };
  float *rows = NULL, *sums = NULL;
  pixel *line = NULL;
  int ok = 0;
  if (!make_taps(&across, in_w, job->width, job->kernel) || !make_taps(&down, in_h, job->height, job->kernel)) goto done;
  /*
   * Horizontal pass over every input row, only for the output columns inside the crop. Its rows are `stride` floats
   * apart, a whole number of vectors, so that the vertical pass adds them a vector at a time.
   */
  const int cw = job->crop_width;
  const int span = cw * 3;
  const size_t stride = (size_t) (span + 3) / 4 * 4;
  const int extended = across.before + in_w + across.after;
  rows = aligned_alloc(sizeof(pixel), sizeof(float) * in_h * stride);
  line = aligned_alloc(sizeof(pixel), sizeof(pixel) * (size_t) extended);
  sums = aligned_alloc(sizeof(pixel), sizeof(float) * stride);
  if (rows == NULL || line == NULL || sums == NULL) goto done;
  for (int y = 0; y < in_h; y++) {
    const unsigned char *input = rgb + (size_t) y * in_w * 3;
    for (int i = 0; i < in_w; i++) line[across.before + i] = (pixel) { input[i * 3], input[i * 3 + 1], input[i * 3 + 2], 0 };
    for (int i = 0; i < across.before; i++) line[i] = line[across.before];
    for (int i = across.before + in_w; i < extended; i++) line[i] = line[across.before + in_w - 1];
    float *target = rows + y * stride;
    for (int x = 0; x < cw; x++) {
      const int ox = x + job->crop_left;
      const float *w = across.weights + ox * across.count;
      const pixel *p = line + across.first[ox] + across.before;
      pixel sum = { 0, 0, 0, 0 };
      for (int k = 0; k < across.count; k++) sum += w[k] * p[k];
      target[x * 3] = sum[0];
      target[x * 3 + 1] = sum[1];
      target[x * 3 + 2] = sum[2];
    }
    for (size_t x = span; x < stride; x++) target[x] = 0;
  }
  /* Vertical pass, only for the output rows inside the crop: each tap's row, weighted, added along the row. */
  pixel *total = (pixel *) sums;
  const size_t vectors = stride / 4;
  for (int y = 0; y < job->crop_height; y++) {
    const int oy = y + job->crop_top;
    const float *w = down.weights + oy * down.count;
    for (size_t i = 0; i < vectors; i++) total[i] = (pixel) { 0, 0, 0, 0 };
    for (int k = 0; k < down.count; k++) {
      const pixel *source = (const pixel *) (rows + clamp_index(down.first[oy] + k, in_h) * stride);
      const float weight = w[k];
      for (size_t i = 0; i < vectors; i++) total[i] += weight * source[i];
    }
    unsigned char *target = job->output + (size_t) y * span;
    for (int x = 0; x < span; x++) target[x] = to_byte(sums[x]);
  }
  ok = 1;
done:
  free(rows);
  free(line);
  free(sums);
  free_taps(&across);
  free_taps(&down);
  return ok;
}

/* The crop's bytes → the tensor's planes, the padding beyond them zero (the mean after normalisation). */
static void normalise (struct job *job) {
  const size_t plane = (size_t) job->padded_width * job->padded_height;
  for (int c = 0; c < 3; c++) {
    const float *lut = job->table + c * 256;
    float *out = job->tensor + c * plane;
    for (int y = 0; y < job->padded_height; y++) {
      float *row = out + (size_t) y * job->padded_width;
      if (y >= job->crop_height) {
        memset(row, 0, sizeof(float) * job->padded_width);
        continue;
      }
      const unsigned char *in = job->output + (size_t) y * job->crop_width * 3 + c;
      for (int x = 0; x < job->crop_width; x++) row[x] = lut[in[x * 3]];
      if (job->padded_width > job->crop_width) memset(row + job->crop_width, 0, sizeof(float) * (job->padded_width - job->crop_width));
    }
  }
}

/*
 * The stored pixels (w × h) as the EXIF orientation says they are seen: a new buffer, w and h swapped for 5–8.
 * For each seen pixel (x, y), the stored one it shows.
 */
static unsigned char *orient (const unsigned char *rgb, int w, int h, int orientation) {
  const int turned = orientation >= 5;
  const int ow = turned ? h : w, oh = turned ? w : h;
  unsigned char *out = malloc((size_t) ow * oh * 3);
  if (out == NULL) return NULL;
  for (int y = 0; y < oh; y++) {
    for (int x = 0; x < ow; x++) {
      int sx, sy;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        case 8: sx = w - 1 - y; sy = x; break;
        default: sx = x; sy = y; break;
      }
      memcpy(out + ((size_t) y * ow + x) * 3, rgb + ((size_t) sy * w + sx) * 3, 3);
    }
  }
  return out;
}

/* sharp's shrink-on-load for JPEG: the largest of 8, 4, 2 that the smaller of the two reductions reaches. */
static int dct_shrink (int in_w, int in_h, int out_w, int out_h) {
  const double shrink = fmin((double) in_w / out_w, (double) in_h / out_h);
  return shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
}

static void decode (napi_env env, void *data) {
  (void) env;
  struct job *job = data;
  struct jpeg_decompress_struct info;
  struct decoder_error error;
  /* Volatile: it changes after setjmp, and the error path frees it after a longjmp. */
  unsigned char *volatile rgb = NULL;
  info.err = jpeg_std_error(&error.base);
  error.base.error_exit = on_error;
  error.base.emit_message = on_message;
  error.warnings = 0;
  if (setjmp(error.escape)) {
    char message[JMSG_LENGTH_MAX];
    error.base.format_message((j_common_ptr) &info, message);
    snprintf(job->error, sizeof job->error, "refused: %s", message);
    jpeg_destroy_decompress(&info);
    free(rgb);
    return;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, job->input, (unsigned long) job->input_length);
  jpeg_read_header(&info, TRUE);
  if (info.jpeg_color_space != JCS_YCbCr && info.jpeg_color_space != JCS_GRAYSCALE && info.jpeg_color_space != JCS_RGB) {
    snprintf(job->error, sizeof job->error, "refused: colour space %d", (int) info.jpeg_color_space);
    jpeg_destroy_decompress(&info);
    return;
  }
  /* The size as seen, after the orientation turns the stored picture. */
  const int turned = job->orientation >= 5;
  const int seen_w = turned ? (int) info.image_height : (int) info.image_width;
  const int seen_h = turned ? (int) info.image_width : (int) info.image_height;
  if (job->width > seen_w || job->height > seen_h) {
    /* libvips enlarges with its affine transform, whose pixel centres this resampler does not copy. */
    snprintf(job->error, sizeof job->error, "refused: enlarging %d×%d to %d×%d", seen_w, seen_h, job->width, job->height);
    jpeg_destroy_decompress(&info);
    return;
  }
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = dct_shrink(seen_w, seen_h, job->width, job->height);
  jpeg_calc_output_dimensions(&info);
  if ((double) info.output_width * info.output_height > MAX_DECODED_PIXELS) {
    snprintf(job->error, sizeof job->error, "refused: %u×%u decoded pixels", info.output_width, info.output_height);
    jpeg_destroy_decompress(&info);
    return;
  }
  jpeg_start_decompress(&info);
  const int in_w = info.output_width, in_h = info.output_height;
  rgb = malloc((size_t) in_w * in_h * 3);
  if (rgb == NULL) {
    snprintf(job->error, sizeof job->error, "out of memory");
    jpeg_destroy_decompress(&info);
    return;
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb + (size_t) info.output_scanline * in_w * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  int w = in_w, h = in_h;
  if (error.warnings == 0 && job->orientation != 1) {
    unsigned char *seen = orient(rgb, in_w, in_h, job->orientation);
    free(rgb);
    rgb = seen;
    if (turned) {
      w = in_h;
      h = in_w;
    }
    if (rgb == NULL) {
      snprintf(job->error, sizeof job->error, "out of memory");
      return;
    }
  }
  if (error.warnings > 0) {
    snprintf(job->error, sizeof job->error, "refused: %d warning(s) while decoding", error.warnings);
  } else if (w == job->width && h == job->height && job->crop_width == w && job->crop_height == h) {
    job->output = rgb; /* nothing to resample */
    rgb = NULL;
  } else {
    job->output = malloc((size_t) job->crop_width * job->crop_height * 3);
    if (job->output == NULL || !resample(job, rgb, w, h)) snprintf(job->error, sizeof job->error, "out of memory");
  }
  free(rgb);
  if (job->error[0] == '\0' && job->tensor != NULL) normalise(job);
}

static void free_output (napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  free(data);
}

static void settle (napi_env env, napi_status status, void *data) {
  struct job *job = data;
  napi_value result;
  const size_t length = (size_t) job->crop_width * job->crop_height * 3;
  if (status == napi_ok && job->error[0] == '\0' && job->tensor != NULL) {
    napi_get_reference_value(env, job->tensor_ref, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else if (status == napi_ok && job->error[0] == '\0') {
    if (napi_create_external_buffer(env, length, job->output, free_output, NULL, &result) == napi_ok) {
      job->output = NULL;
    } else {
      /* Where external buffers are not allowed (a V8 sandbox), a copy. */
      napi_create_buffer_copy(env, length, job->output, NULL, &result);
    }
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, code;
    const int refused = strncmp(job->error, "refused: ", 9) == 0;
    napi_create_string_utf8(env, job->error[0] != '\0' ? job->error : "cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_string_utf8(env, refused ? "ERR_NATIVE_JPEG_REFUSED" : "ERR_NATIVE_JPEG", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  free(job->output);
  if (job->tensor_ref != NULL) napi_delete_reference(env, job->tensor_ref);
  if (job->table_ref != NULL) napi_delete_reference(env, job->table_ref);
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static int32_t int_argument (napi_env env, napi_value value) {
  int32_t n = 0;
  napi_get_value_int32(env, value, &n);
  return n;
}

/* A Float32Array argument: its data and length, or NULL where it is something else. */
static float *float_array (napi_env env, napi_value value, size_t *length) {
  bool typed = false;
  napi_typedarray_type type;
  void *data = NULL;
  napi_is_typedarray(env, value, &typed);
  if (!typed) return NULL;
  napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL);
  return type == napi_float32_array ? data : NULL;
}

static const char *const usage[] = {
  "decode(jpeg: Uint8Array, width, height, kernel, cropLeft, cropTop, cropWidth, cropHeight[, orientation])",
  "decodeToTensor(jpeg: Uint8Array, width, height, kernel, cropLeft, cropTop, cropWidth, cropHeight, tensor: Float32Array, table: Float32Array, paddedWidth, paddedHeight[, orientation])"
};

/*
 * decode(...): Promise<Buffer>, the crop's RGB bytes; decodeToTensor(..., tensor, table, paddedWidth, paddedHeight):
 * Promise<Float32Array>, the tensor, written. The function's data tells which (0 or 1). Either takes the EXIF
 * orientation last (1 when left out); width, height and the crop are in the picture as seen.
 */
static napi_value start (napi_env env, napi_callback_info call) {
  size_t argc = 13;
  napi_value argv[13], promise, name;
  void *which;
  napi_get_cb_info(env, call, &argc, argv, NULL, &which);
  const int to_tensor = which != NULL;
  const size_t required = to_tensor ? 12u : 8u;
  bool typed = false;
  if (argc == required || argc == required + 1) napi_is_typedarray(env, argv[0], &typed);
  if (!typed) {
    napi_throw_type_error(env, NULL, usage[to_tensor]);
    return NULL;
  }
  struct job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "decode: out of memory");
    return NULL;
  }
  napi_typedarray_type type;
  void *bytes;
  napi_get_typedarray_info(env, argv[0], &type, &job->input_length, &bytes, NULL, NULL);
  job->input = bytes;
  job->width = int_argument(env, argv[1]);
  job->height = int_argument(env, argv[2]);
  job->kernel = (enum kernel) int_argument(env, argv[3]);
  job->crop_left = int_argument(env, argv[4]);
  job->crop_top = int_argument(env, argv[5]);
  job->crop_width = int_argument(env, argv[6]);
  job->crop_height = int_argument(env, argv[7]);
  job->orientation = argc > required ? int_argument(env, argv[required]) : 1;
  if (type != napi_uint8_array || job->orientation < 1 || job->orientation > 8 || job->width < 1 || job->height < 1 || job->kernel < KERNEL_LINEAR || job->kernel > KERNEL_LANCZOS3 ||
      job->crop_left < 0 || job->crop_top < 0 || job->crop_width < 1 || job->crop_height < 1 ||
      job->crop_left + job->crop_width > job->width || job->crop_top + job->crop_height > job->height) {
    free(job);
    napi_throw_range_error(env, NULL, "decode: a size, kernel, crop or orientation out of range");
    return NULL;
  }
  if (to_tensor) {
    size_t tensor_length = 0, table_length = 0;
    job->tensor = float_array(env, argv[8], &tensor_length);
    job->table = float_array(env, argv[9], &table_length);
    job->padded_width = int_argument(env, argv[10]);
    job->padded_height = int_argument(env, argv[11]);
    if (job->tensor == NULL || job->table == NULL || table_length != 3 * 256 ||
        job->padded_width < job->crop_width || job->padded_height < job->crop_height ||
        tensor_length < (size_t) 3 * job->padded_width * job->padded_height) {
      free(job);
      napi_throw_range_error(env, NULL, "decode: the tensor must be a Float32Array of 3 padded planes, the table 768 floats");
      return NULL;
    }
    napi_create_reference(env, argv[8], 1, &job->tensor_ref);
    napi_create_reference(env, argv[9], 1, &job->table_ref);
  }
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "jpeg-rgb", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, decode, settle, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value init (napi_env env, napi_value exports) {
  static int tensor_flag = 1;
  napi_value fn;
  napi_create_function(env, "decode", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "decode", fn);
  napi_create_function(env, "decodeToTensor", NAPI_AUTO_LENGTH, start, &tensor_flag, &fn);
  napi_set_named_property(env, exports, "decodeToTensor", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
