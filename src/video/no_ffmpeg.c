/* The decoder of a build without FFmpeg (`make VIDEO=0`, or no libavformat found): every call
 * fails naming the file and what to do instead, so commands that need decoding say why. Clips
 * given as .npy arrays never get here (video/clip.c reads them itself). */
#include "video/decode.h"
#include "video/thumbnail.h"

static int no_decoder(const char *path, vc_error *err) {
    return vc_fail(err, "%s: viclip was built without FFmpeg, so it cannot decode videos; give clips as .npy "
                        "(`viclip frames` on a machine with FFmpeg writes them)", path ? path : "(video)");
}

int vc_video_probe(const char *path, const vc_decode_opts *o, vc_video_info *info, vc_error *err) {
    (void)o, (void)info;
    return no_decoder(path, err);
}

int vc_video_read(const char *path, const vc_decode_opts *o, int count, vc_pick_fn pick, vc_frame_fn on_frame,
                  void *user, vc_video_info *info, vc_error *err) {
    (void)o, (void)count, (void)pick, (void)on_frame, (void)user, (void)info;
    return no_decoder(path, err);
}

int vc_video_stream(const char *path, const vc_decode_opts *o, vc_open_fn on_open, vc_want_fn want,
                    vc_frame_fn on_frame, void *user, vc_error *err) {
    (void)o, (void)on_open, (void)want, (void)on_frame, (void)user;
    return no_decoder(path, err);
}

int vc_thumbnail_jpeg(const char *path, double t, int max_width, uint8_t **jpeg, size_t *n, vc_error *err) {
    (void)t, (void)max_width;
    *jpeg = NULL, *n = 0;
    return no_decoder(path, err);
}
