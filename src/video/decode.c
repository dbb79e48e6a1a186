#include "video/decode.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "core/clock.h"

/* Bounds that turn a pathological stream into an error instead of an endless loop. */
enum {
    MAX_READ_RETRIES = 1000,       /* consecutive EAGAIN from the demuxer */
    MAX_PACKETS_WITHOUT_FRAME = 4096,
    MAX_SKIPPED_ERRORS = 1000,     /* non-strict mode: broken packets tolerated per pass */
    MAX_FOLDER_FRAMES = 1 << 22,
};

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void silence_ffmpeg(void) { av_log_set_level(AV_LOG_QUIET); }

static const char *av_err(int code, char *buf, size_t cap) {
    if (av_strerror(code, buf, cap) < 0) snprintf(buf, cap, "FFmpeg error %d", code);
    return buf;
}

/* ---- one open video stream ---- */

typedef struct source {
    const char *path;
    const vc_decode_opts *o;
    double deadline;            /* vc_now_s() value after which I/O is interrupted; 0: none */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    int stream;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    uint8_t *rgb;               /* converted frame, av_malloc'ed (aligned rows like ffmpeg's) */
    size_t rgb_cap;
    uint8_t *rot;               /* rotated frame */
    size_t rot_cap;
    int rotation;               /* clockwise degrees */
    double fps;
} source;

static int interrupt_cb(void *opaque) {
    const source *s = opaque;
    return s->deadline > 0 && vc_now_s() > s->deadline;
}

static int timed_out(const source *s) { return interrupt_cb((void *)s); }

static int timeout_error(const source *s, vc_error *err) {
    return vc_fail(err, "%s: gave up after %.0f s (timeout; a stalled or pathological stream?)", s->path,
                   s->o->timeout_s);
}

/* Clockwise rotation that displays the frame upright, as ffmpeg's autorotate derives it. */
static int stream_rotation(const AVStream *st) {
    const int32_t *matrix = NULL;
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                         st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t)) matrix = (const int32_t *)sd->data;
#else
    size_t size = 0;
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (sd && size >= 9 * sizeof(int32_t)) matrix = (const int32_t *)sd;
#endif
    if (!matrix) return 0;
    double theta = -av_display_rotation_get(matrix);
    if (isnan(theta)) return 0;
    theta -= 360.0 * floor(theta / 360.0 + 0.9 / 360.0);
    int quarter = (int)lround(theta / 90.0) % 4;
    return quarter * 90;
}

static void source_close(source *s) {
    sws_freeContext(s->sws);
    av_free(s->rgb);
    free(s->rot);
    av_frame_free(&s->frame);
    av_packet_free(&s->pkt);
    avcodec_free_context(&s->dec);
    avformat_close_input(&s->fmt);
    s->sws = NULL, s->rgb = NULL, s->rot = NULL;
}

static int source_open(source *s, const char *path, const vc_decode_opts *o, double deadline, vc_error *err) {
    memset(s, 0, sizeof *s);
    s->path = path, s->o = o, s->deadline = deadline;
    char eb[128];
    struct stat sb;
    if (stat(path, &sb)) return vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return vc_fail(err, "%s: not a regular file", path);
    if (sb.st_size == 0) return vc_fail(err, "%s: empty file (0 bytes), not a video", path);
    s->fmt = avformat_alloc_context();
    if (!s->fmt) return vc_fail(err, "%s: out of memory", path);
    s->fmt->interrupt_callback.callback = interrupt_cb;
    s->fmt->interrupt_callback.opaque = s;
    int rc = avformat_open_input(&s->fmt, path, NULL, NULL); /* frees fmt on failure */
    if (rc < 0) {
        if (timed_out(s)) return timeout_error(s, err);
        return vc_fail(err, "%s: not a readable video or image (%s)", path, av_err(rc, eb, sizeof eb));
    }
    if ((rc = avformat_find_stream_info(s->fmt, NULL)) < 0) {
        source_close(s);
        if (timed_out(s)) return timeout_error(s, err);
        return vc_fail(err, "%s: cannot read stream information (%s)", path, av_err(rc, eb, sizeof eb));
    }
    const AVCodec *codec = NULL;
    s->stream = av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (s->stream < 0) {
        int none = s->stream == AVERROR_STREAM_NOT_FOUND;
        source_close(s);
        return none ? vc_fail(err, "%s: has no video stream", path)
                    : vc_fail(err, "%s: no decoder for its video stream (%s)", path, av_err(s->stream, eb, sizeof eb));
    }
    s->st = s->fmt->streams[s->stream];
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != s->stream) s->fmt->streams[i]->discard = AVDISCARD_ALL;
    if (s->st->codecpar->width < 1 || s->st->codecpar->height < 1 || s->st->codecpar->width > 1 << 14 ||
        s->st->codecpar->height > 1 << 14) {
        int w = s->st->codecpar->width, h = s->st->codecpar->height;
        source_close(s);
        return vc_fail(err, "%s: video stream has an unusable frame size %dx%d", path, w, h);
    }
    s->dec = avcodec_alloc_context3(codec);
    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    if (!s->dec || !s->pkt || !s->frame) {
        source_close(s);
        return vc_fail(err, "%s: out of memory", path);
    }
    if ((rc = avcodec_parameters_to_context(s->dec, s->st->codecpar)) < 0) {
        source_close(s);
        return vc_fail(err, "%s: bad codec parameters (%s)", path, av_err(rc, eb, sizeof eb));
    }
    s->dec->thread_count = o->threads > 0 ? o->threads : 1;
    s->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    s->dec->pkt_timebase = s->st->time_base;
    if ((rc = avcodec_open2(s->dec, codec, NULL)) < 0) {
        source_close(s);
        return vc_fail(err, "%s: cannot open the %s decoder (%s)", path, codec->name, av_err(rc, eb, sizeof eb));
    }
    s->rotation = stream_rotation(s->st);
    AVRational r = s->st->avg_frame_rate.num > 0 ? s->st->avg_frame_rate : s->st->r_frame_rate;
    s->fps = r.num > 0 && r.den > 0 ? av_q2d(r) : 0;
    return 0;
}

static void fill_info(const source *s, vc_video_info *info) {
    memset(info, 0, sizeof *info);
    int w = s->st->codecpar->width, h = s->st->codecpar->height;
    info->width = s->rotation % 180 ? h : w;
    info->height = s->rotation % 180 ? w : h;
    info->rotation = s->rotation;
    info->fps = s->fps;
    if (s->st->duration != AV_NOPTS_VALUE && s->st->duration > 0) info->duration = s->st->duration * av_q2d(s->st->time_base);
    else if (s->fmt->duration > 0) info->duration = s->fmt->duration / (double)AV_TIME_BASE;
    snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(s->st->codecpar->codec_id));
    snprintf(info->container, sizeof info->container, "%s", s->fmt->iformat->name);
}

/* Seconds from the stream's start; frames without a timestamp continue from the previous one. */
static double frame_time(const source *s, const AVFrame *f, double prev) {
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) return prev + (s->fps > 0 ? 1.0 / s->fps : 0.0);
    int64_t origin = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
    return (double)(ts - origin) * av_q2d(s->st->time_base);
}

/* Called for each frame in the clip with its number; returns 1 to stop, 0 to go on, -1 on error. */
typedef int (*visit_fn)(source *s, int ordinal, double t, void *user, vc_error *err);

static int decode_failure(source *s, int code, int ordinal, int *skipped, vc_error *err) {
    char eb[128];
    if (s->o->strict || ++*skipped > MAX_SKIPPED_ERRORS)
        return vc_fail(err, "%s: corrupt video data: decoding failed after %d frames (%s)", s->path, ordinal,
                       av_err(code, eb, sizeof eb));
    return 0;
}

/* Decodes from the start of the clip (seeking near `start` first) and visits every frame in
 * range, in presentation order. *n_seen receives the number of frames visited. */
static int source_run(source *s, visit_fn visit, void *user, int *n_seen, vc_error *err) {
    const double start = s->o->start, end = s->o->end, eps = 1e-6;
    char eb[128];
    if (start > 0) {
        int64_t origin = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
        int64_t ts = origin + (int64_t)floor(start / av_q2d(s->st->time_base));
        /* a failed seek leaves the reader at the beginning, which only costs time */
        if (av_seek_frame(s->fmt, s->stream, ts, AVSEEK_FLAG_BACKWARD) >= 0) avcodec_flush_buffers(s->dec);
    }
    int ordinal = 0, eof = 0, retries = 0, skipped = 0, rc;
    long packets_without_frame = 0;
    double prev_t = -1.0 / (s->fps > 0 ? s->fps : 1.0);
    *n_seen = 0;
    for (;;) {
        if (timed_out(s)) return timeout_error(s, err);
        if (!eof) {
            rc = av_read_frame(s->fmt, s->pkt);
            if (rc == AVERROR(EAGAIN)) {
                if (++retries > MAX_READ_RETRIES) return vc_fail(err, "%s: the demuxer keeps returning no data", s->path);
                continue;
            }
            retries = 0;
            if (rc < 0) {
                if (timed_out(s)) return timeout_error(s, err);
                if (rc != AVERROR_EOF && s->o->strict)
                    return vc_fail(err, "%s: read error after %d frames, at byte %lld (%s)", s->path, ordinal,
                                   (long long)avio_tell(s->fmt->pb), av_err(rc, eb, sizeof eb));
                eof = 1;
                rc = avcodec_send_packet(s->dec, NULL); /* drain the decoder */
            } else if (s->pkt->stream_index != s->stream) {
                av_packet_unref(s->pkt);
                continue;
            } else {
                rc = avcodec_send_packet(s->dec, s->pkt);
                av_packet_unref(s->pkt);
                if (++packets_without_frame > MAX_PACKETS_WITHOUT_FRAME)
                    return vc_fail(err, "%s: no picture decoded from %d packets (corrupt stream?)", s->path,
                                   MAX_PACKETS_WITHOUT_FRAME);
            }
            if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR(EAGAIN) && decode_failure(s, rc, ordinal, &skipped, err))
                return -1;
        }
        for (;;) {
            rc = avcodec_receive_frame(s->dec, s->frame);
            if (rc == AVERROR(EAGAIN)) {
                if (eof) return vc_fail(err, "%s: the decoder stalled while draining", s->path);
                break;
            }
            if (rc == AVERROR_EOF) {
                *n_seen = ordinal;
                return 0;
            }
            if (rc < 0) {
                if (decode_failure(s, rc, ordinal, &skipped, err)) return -1;
                break;
            }
            packets_without_frame = 0;
            if (s->o->strict && (s->frame->decode_error_flags || (s->frame->flags & AV_FRAME_FLAG_CORRUPT))) {
                av_frame_unref(s->frame);
                return vc_fail(err, "%s: corrupt video data: frame %d decoded with errors (damaged stream)", s->path,
                               ordinal);
            }
            double t = frame_time(s, s->frame, prev_t);
            prev_t = t;
            if (end >= 0 && t >= end - eps) { /* presentation order: nothing later is in range */
                av_frame_unref(s->frame);
                *n_seen = ordinal;
                return 0;
            }
            int r = 0;
            if (start < 0 || t >= start - eps) r = visit(s, ordinal++, t, user, err);
            av_frame_unref(s->frame);
            if (r) {
                *n_seen = ordinal;
                return r < 0 ? -1 : 0;
            }
        }
    }
}

/* The current decoded frame as upright packed RGB24. */
static int convert_frame(source *s, vc_rgb_frame *out, vc_error *err) {
    const AVFrame *f = s->frame;
    const int w = f->width, h = f->height;
    if (w < 1 || h < 1) return vc_fail(err, "%s: decoded a frame of size %dx%d", s->path, w, h);
    s->sws = sws_getCachedContext(s->sws, w, h, (enum AVPixelFormat)f->format, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC,
                                  NULL, NULL, NULL);
    if (!s->sws) return vc_fail(err, "%s: cannot convert pixel format %s to RGB", s->path,
                                av_get_pix_fmt_name((enum AVPixelFormat)f->format) ? av_get_pix_fmt_name((enum AVPixelFormat)f->format) : "?");
    /* YUV matrix and range from the frame, as the ffmpeg tool's scale filter picks them
     * (BT.601 when the frame does not say) */
    int *inv_table, *table, src_full, dst_full, brightness, contrast, saturation;
    if (sws_getColorspaceDetails(s->sws, &inv_table, &src_full, &table, &dst_full, &brightness, &contrast,
                                 &saturation) >= 0) {
        const int *coeffs = sws_getCoefficients(f->colorspace);
        if (f->color_range != AVCOL_RANGE_UNSPECIFIED) src_full = f->color_range == AVCOL_RANGE_JPEG;
        sws_setColorspaceDetails(s->sws, coeffs, src_full, coeffs, dst_full, brightness, contrast, saturation);
    }
    const size_t stride = ((size_t)w * 3 + 63) & ~(size_t)63, need = stride * h + 64;
    if (need > s->rgb_cap) {
        av_free(s->rgb);
        s->rgb = av_malloc(need);
        s->rgb_cap = s->rgb ? need : 0;
        if (!s->rgb) return vc_fail(err, "%s: out of memory for a %dx%d frame", s->path, w, h);
    }
    uint8_t *dst[4] = {s->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {(int)stride, 0, 0, 0};
    if (sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride) != h)
        return vc_fail(err, "%s: pixel format conversion failed", s->path);
    if (!s->rotation) {
        *out = (vc_rgb_frame){s->rgb, w, h, stride, 0, 0};
        return 0;
    }
    const int ow = s->rotation == 180 ? w : h, oh = s->rotation == 180 ? h : w;
    if ((size_t)w * h * 3 > s->rot_cap) {
        free(s->rot);
        s->rot = malloc((size_t)w * h * 3);
        s->rot_cap = s->rot ? (size_t)w * h * 3 : 0;
        if (!s->rot) return vc_fail(err, "%s: out of memory for a %dx%d frame", s->path, w, h);
    }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* source pixel shown at (x, y) */
            if (s->rotation == 90) sx = y, sy = h - 1 - x;
            else if (s->rotation == 180) sx = w - 1 - x, sy = h - 1 - y;
            else sx = w - 1 - y, sy = x;
            memcpy(s->rot + ((size_t)y * ow + x) * 3, s->rgb + (size_t)sy * stride + (size_t)sx * 3, 3);
        }
    *out = (vc_rgb_frame){s->rot, ow, oh, (size_t)ow * 3, 0, 0};
    return 0;
}

/* ---- counting and collecting ---- */

static int count_visit(source *s, int ordinal, double t, void *user, vc_error *err) { return 0; }

typedef struct collect {
    int count, max_idx;
    const int *idx;
    vc_frame_fn on_frame;
    void *user;
} collect;

static int collect_visit(source *s, int ordinal, double t, void *user, vc_error *err) {
    const collect *c = user;
    vc_rgb_frame f;
    int converted = 0;
    for (int k = 0; k < c->count; k++) {
        if (c->idx[k] != ordinal) continue;
        if (!converted && convert_frame(s, &f, err)) return -1;
        converted = 1;
        f.index = ordinal, f.time_s = t;
        if (c->on_frame(c->user, k, &f, err)) return -1;
    }
    return ordinal >= c->max_idx ? 1 : 0;
}

static int open_and_run(const char *path, const vc_decode_opts *o, double deadline, visit_fn visit, void *user,
                        int *n_seen, vc_video_info *info, vc_error *err) {
    source s;
    if (source_open(&s, path, o, deadline, err)) return -1;
    if (info) fill_info(&s, info);
    int rc = visit ? source_run(&s, visit, user, n_seen, err) : 0;
    source_close(&s);
    return rc;
}

/* The container's frame count when it can stand in for decoding, else 0. */
static int stated_count(const source *s) {
    const vc_decode_opts *o = s->o;
    int64_t n = s->st->nb_frames;
    if (o->exact_count || o->start >= 0 || o->end >= 0 || n <= 0 || n > INT32_MAX) return 0;
    return (int)n;
}

static int check_picks(const char *path, const int *idx, int count, int n, int *max_idx, vc_error *err) {
    *max_idx = 0;
    for (int k = 0; k < count; k++) {
        if (idx[k] < 0 || idx[k] >= n)
            return vc_fail(err, "%s: frame index %d picked for slot %d is outside the video's %d frames", path, idx[k], k, n);
        if (idx[k] > *max_idx) *max_idx = idx[k];
    }
    return 0;
}

static int range_check(const char *path, const vc_decode_opts *o, vc_error *err) {
    if (o->start >= 0 && o->end >= 0 && o->end <= o->start)
        return vc_fail(err, "%s: clip end %.3f s is not after its start %.3f s", path, o->end, o->start);
    return 0;
}

static int file_read(const char *path, const vc_decode_opts *o, int count, vc_pick_fn pick, vc_frame_fn on_frame,
                     void *user, vc_video_info *info, vc_error *err) {
    const double deadline = o->timeout_s > 0 ? vc_now_s() + o->timeout_s : 0;
    if (range_check(path, o, err)) return -1;
    /* One open serves the count (or the container's count) and, when no count had to be
     * decoded, the collecting pass too; otherwise the file is opened afresh from its start. */
    source s;
    if (source_open(&s, path, o, deadline, err)) return -1;
    fill_info(&s, info);
    int n = stated_count(&s), fresh = 1;
    info->counted = n == 0;
    if (n == 0) {
        fresh = 0;
        if (source_run(&s, count_visit, NULL, &n, err)) {
            source_close(&s);
            return -1;
        }
    }
    if (n == 0) {
        source_close(&s);
        return o->start >= 0 || o->end >= 0
                   ? vc_fail(err, "%s: no frames between %.3f s and %.3f s", path, o->start, o->end)
                   : vc_fail(err, "%s: the video stream has no decodable frames", path);
    }
    info->frames = n;
    int *idx = count ? malloc((size_t)count * sizeof *idx) : NULL;
    int rc = count && !idx ? vc_fail(err, "out of memory") : 0;
    for (int attempt = 0; attempt < 2 && count && idx; attempt++) {
        collect c = {count, 0, idx, on_frame, user};
        int seen = 0;
        rc = -1;
        if (pick(user, n, idx, err) || check_picks(path, idx, count, n, &c.max_idx, err)) break;
        if (!fresh) {
            source_close(&s);
            if (source_open(&s, path, o, deadline, err)) break;
        }
        fresh = 0;
        if (source_run(&s, collect_visit, &c, &seen, err)) break;
        if (seen > c.max_idx) {
            rc = 0;
            break;
        }
        /* the stream ended before the container's count: pick again from the frames there are */
        if (info->counted || seen == 0) {
            vc_fail(err, "%s: the video ended after %d frames, before frame %d", path, seen, c.max_idx);
            break;
        }
        n = info->frames = seen;
        info->counted = 1;
    }
    source_close(&s);
    free(idx);
    return rc;
}

/* ---- folders of frame images ---- */

static int is_image_name(const char *name) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

/* Name order with digit runs compared by value: frame2.png before frame10.png. */
static int natural_cmp(const void *pa, const void *pb) {
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la, b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++, b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

typedef struct name_list {
    char **names;
    int n;
} name_list;

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

static int list_frames(const char *dir, name_list *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return vc_fail(err, "%s: cannot open folder: %s", dir, strerror(errno));
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_image_name(e->d_name)) continue;
        if (out->n >= MAX_FOLDER_FRAMES) {
            closedir(d);
            names_free(out);
            return vc_fail(err, "%s: more than %d frame images", dir, MAX_FOLDER_FRAMES);
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(out->names, (size_t)cap * sizeof *grown);
            if (!grown) break;
            out->names = grown;
        }
        if (!(out->names[out->n] = strdup(e->d_name))) break;
        out->n++;
    }
    int oom = e != NULL;
    closedir(d);
    if (oom) {
        names_free(out);
        return vc_fail(err, "%s: out of memory listing frames", dir);
    }
    if (!out->n) {
        names_free(out);
        return vc_fail(err, "%s: folder holds no frame images (.png, .jpg, ...)", dir);
    }
    qsort(out->names, (size_t)out->n, sizeof *out->names, natural_cmp);
    return 0;
}

typedef struct single_frame {
    collect *c;
    int index;
} single_frame;

static int single_visit(source *s, int ordinal, double t, void *user, vc_error *err) {
    const single_frame *sf = user;
    collect *c = sf->c;
    vc_rgb_frame f;
    if (convert_frame(s, &f, err)) return -1;
    f.index = sf->index, f.time_s = sf->index;
    for (int k = 0; k < c->count; k++)
        if (c->idx[k] == sf->index && c->on_frame(c->user, k, &f, err)) return -1;
    return 1; /* one picture per file */
}

static int folder_read(const char *dir, const vc_decode_opts *o, int count, vc_pick_fn pick, vc_frame_fn on_frame,
                       void *user, vc_video_info *info, vc_error *err) {
    if (o->start >= 0 || o->end >= 0)
        return vc_fail(err, "%s: a folder of frames has no timestamps; start/end need a video file", dir);
    name_list l;
    if (list_frames(dir, &l, err)) return -1;
    memset(info, 0, sizeof *info);
    info->is_folder = 1, info->frames = l.n, info->counted = 1;
    snprintf(info->container, sizeof info->container, "folder");
    const double deadline = o->timeout_s > 0 ? vc_now_s() + o->timeout_s : 0;
    int rc = 0;
    char *path = NULL;
    size_t dlen = strlen(dir);
    int *idx = count ? malloc((size_t)count * sizeof *idx) : NULL;
    collect c = {count, 0, idx, on_frame, user};
    if (count && (!idx || pick(user, l.n, idx, err) || check_picks(dir, idx, count, l.n, &c.max_idx, err))) rc = -1;
    if (count && !idx) rc = vc_fail(err, "out of memory");
    /* the first image sets the reported size; then each picked image, once */
    for (int i = 0; i < l.n && !rc; i++) {
        int wanted = i == 0;
        for (int k = 0; k < count && !wanted; k++) wanted = idx[k] == i;
        if (!wanted) continue;
        free(path);
        path = malloc(dlen + strlen(l.names[i]) + 2);
        if (!path) {
            rc = vc_fail(err, "out of memory");
            break;
        }
        sprintf(path, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", l.names[i]);
        single_frame sf = {&c, i};
        vc_video_info one;
        int seen = 0;
        rc = open_and_run(path, o, deadline, count ? single_visit : NULL, &sf, &seen, &one, err);
        if (!rc && count && seen == 0) rc = vc_fail(err, "%s: no picture decoded", path);
        if (!rc && i == 0) {
            info->width = one.width, info->height = one.height;
            snprintf(info->codec, sizeof info->codec, "%s", one.codec);
        }
    }
    free(path);
    free(idx);
    names_free(&l);
    return rc;
}

/* ---- public entry points ---- */

int vc_video_read(const char *path, const vc_decode_opts *o, int count, vc_pick_fn pick, vc_frame_fn on_frame,
                  void *user, vc_video_info *info, vc_error *err) {
    pthread_once(&quiet_once, silence_ffmpeg);
    vc_decode_opts defaults = vc_decode_default_opts();
    vc_video_info local;
    if (!o) o = &defaults;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (!path || !*path) return vc_fail(err, "no video path given");
    if (count < 0 || (count > 0 && (!pick || !on_frame))) return vc_fail(err, "%s: bad frame request", path);
    struct stat sb;
    if (stat(path, &sb)) return vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return folder_read(path, o, count, pick, on_frame, user, info, err);
    return file_read(path, o, count, pick, on_frame, user, info, err);
}

int vc_video_probe(const char *path, const vc_decode_opts *o, vc_video_info *info, vc_error *err) {
    return vc_video_read(path, o, 0, NULL, NULL, NULL, info, err);
}

/* ---- streaming ---- */

typedef struct stream_ctx {
    vc_want_fn want;
    vc_frame_fn on_frame;
    void *user;
} stream_ctx;

static int stream_visit(source *s, int ordinal, double t, void *user, vc_error *err) {
    const stream_ctx *c = user;
    int w = c->want(c->user, ordinal, t, err);
    if (w < 0 || w == 2) return w < 0 ? -1 : 1;
    if (!w) return 0;
    vc_rgb_frame f;
    if (convert_frame(s, &f, err)) return -1;
    f.index = ordinal, f.time_s = t;
    return c->on_frame(c->user, 0, &f, err) ? -1 : 0;
}

int vc_video_stream(const char *path, const vc_decode_opts *o, vc_open_fn on_open, vc_want_fn want,
                    vc_frame_fn on_frame, void *user, vc_error *err) {
    pthread_once(&quiet_once, silence_ffmpeg);
    vc_decode_opts defaults = vc_decode_default_opts();
    if (!o) o = &defaults;
    if (!path || !*path) return vc_fail(err, "no video path given");
    if (!want || !on_frame) return vc_fail(err, "%s: bad frame request", path);
    const double deadline = o->timeout_s > 0 ? vc_now_s() + o->timeout_s : 0;
    source s;
    if (source_open(&s, path, o, deadline, err)) return -1;
    vc_video_info info;
    fill_info(&s, &info);
    int64_t stated = s.st->nb_frames;
    info.frames = stated > 0 && stated <= INT32_MAX ? (int)stated : 0;
    int rc = on_open ? on_open(user, &info, err) : 0, seen = 0;
    if (rc == 0) {
        stream_ctx c = {want, on_frame, user};
        rc = source_run(&s, stream_visit, &c, &seen, err);
    }
    source_close(&s);
    return rc < 0 ? -1 : 0;
}
