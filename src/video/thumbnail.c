#include "video/thumbnail.h"

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "video/decode.h"

typedef struct grab {
    uint8_t *rgb;
    int w, h;
} grab;

static int pick_first(void *user, int n, int *idx, vc_error *err) {
    idx[0] = 0;
    return 0;
}

static int keep_frame(void *user, int slot, const vc_rgb_frame *f, vc_error *err) {
    grab *g = user;
    free(g->rgb);
    if (!(g->rgb = malloc((size_t)f->width * f->height * 3))) return vc_fail(err, "out of memory");
    for (int y = 0; y < f->height; y++) memcpy(g->rgb + (size_t)y * f->width * 3, f->data + y * f->stride, (size_t)f->width * 3);
    g->w = f->width, g->h = f->height;
    return 0;
}

static int encode_jpeg(const grab *g, int max_width, uint8_t **jpeg, size_t *n, vc_error *err) {
    int w = g->w < max_width ? g->w : max_width, h = (int)((double)g->h * w / g->w + 0.5);
    w &= ~1, h &= ~1; /* 4:2:0 */
    if (w < 2 || h < 2) w = h = 2;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) return vc_fail(err, "FFmpeg has no MJPEG encoder");
    AVCodecContext *c = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *p = av_packet_alloc();
    struct SwsContext *sws = NULL;
    int rc = c && f && p ? 0 : vc_fail(err, "out of memory");
    if (!rc) {
        c->width = w, c->height = h, c->pix_fmt = AV_PIX_FMT_YUVJ420P, c->time_base = (AVRational){1, 25};
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 4;
        if (avcodec_open2(c, codec, NULL) < 0) rc = vc_fail(err, "cannot open the MJPEG encoder");
    }
    if (!rc) {
        f->format = AV_PIX_FMT_YUVJ420P, f->width = w, f->height = h, f->quality = c->global_quality;
        f->pict_type = AV_PICTURE_TYPE_I;
        if (av_frame_get_buffer(f, 0) < 0) rc = vc_fail(err, "out of memory");
    }
    if (!rc && !(sws = sws_getContext(g->w, g->h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL)))
        rc = vc_fail(err, "cannot scale the thumbnail");
    if (!rc) {
        const uint8_t *src[4] = {g->rgb, NULL, NULL, NULL};
        int stride[4] = {g->w * 3, 0, 0, 0};
        sws_scale(sws, src, stride, 0, g->h, f->data, f->linesize);
        if (avcodec_send_frame(c, f) < 0 || avcodec_send_frame(c, NULL) < 0 || avcodec_receive_packet(c, p) < 0)
            rc = vc_fail(err, "JPEG encoding failed");
    }
    if (!rc) {
        if (!(*jpeg = malloc((size_t)p->size))) rc = vc_fail(err, "out of memory");
        else memcpy(*jpeg, p->data, (size_t)p->size), *n = (size_t)p->size;
    }
    sws_freeContext(sws);
    av_packet_free(&p);
    av_frame_free(&f);
    avcodec_free_context(&c);
    return rc;
}

int vc_thumbnail_jpeg(const char *path, double t, int max_width, uint8_t **jpeg, size_t *n, vc_error *err) {
    grab g = {0};
    vc_decode_opts o = vc_decode_default_opts();
    o.timeout_s = 20;
    o.start = t > 0 ? t : -1, o.end = t > 0 ? t + 2 : -1; /* a short range: counting it is cheap */
    vc_video_info info;
    int rc = vc_video_read(path, &o, 1, pick_first, keep_frame, &g, &info, err);
    if (rc && t > 0) { /* past the last frame: the video's first frame instead */
        o.start = o.end = -1;
        rc = vc_video_read(path, &o, 1, pick_first, keep_frame, &g, &info, err);
    }
    if (!rc) rc = encode_jpeg(&g, max_width > 0 ? max_width : 320, jpeg, n, err);
    free(g.rgb);
    return rc;
}
