/* viclip serve in a build without libmicrohttpd: starting the server fails with the reason. */
#include "serve/server.h"

struct vc_server {
    int port;
};

vc_server *vc_server_start(vc_model *m, const vc_tokenizer *tok, const vc_search_index *x, const vc_server_opts *o,
                           vc_error *err) {
    (void)m, (void)tok, (void)x, (void)o;
    vc_fail(err, "viclip was built without libmicrohttpd, so it cannot serve (install libmicrohttpd-dev and rebuild)");
    return NULL;
}

int vc_server_port(const vc_server *s) { return s ? s->port : 0; }
void vc_server_stop(vc_server *s) { (void)s; }
