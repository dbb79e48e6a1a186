/* viclip serve: an HTTP server (GNU libmicrohttpd, a thread pool) over a moment index.
 *   GET  /                      the single-page UI (page.c): search, result cards with
 *                               thumbnails, a player that seeks to the moment, label tagging
 *   GET  /api/health            {"status":"ok", ...}
 *   GET  /api/search?q=TEXT&k=N  moments as viclip search --json prints one query, each with
 *                               "video" and "thumb" URLs
 *   POST /api/classify          {"labels":[...], "rows":[window rows]} -> per row label scores
 *   GET  /thumb/ROW.jpg         JPEG at the middle of window ROW (made once, then cached)
 *   GET  /video/FILE            the FILE-th indexed video, with Range requests
 * Videos are addressed by their number in the index, never by a path, so nothing outside the
 * index can be named, let alone served. Bad input gets a 4xx; a body over max_body gets 413
 * (or the connection closed); an idle or slow client is dropped after timeout_s. */
#ifndef VC_SERVE_SERVER_H
#define VC_SERVE_SERVER_H

#include "core/error.h"
#include "model/model.h"
#include "search/index.h"
#include "text/tokenizer.h"

typedef struct vc_server_opts {
    const char *host;   /* default "127.0.0.1" */
    int port;           /* 0: any free port */
    int threads;        /* request threads (default 4) */
    int timeout_s;      /* idle connection timeout (default 15) */
    size_t max_body;    /* bytes (default 64 KiB) */
    int max_k;          /* largest k (default 100) */
    int thumb_width;    /* default 320 */
} vc_server_opts;

vc_server_opts vc_server_default_opts(void);

typedef struct vc_server vc_server;

/* Serves x with model m and tokenizer tok (all borrowed: keep them until vc_server_stop). */
vc_server *vc_server_start(vc_model *m, const vc_tokenizer *tok, const vc_search_index *x, const vc_server_opts *o,
                           vc_error *err);
int vc_server_port(const vc_server *s);
void vc_server_stop(vc_server *s);

#endif
