/* The server's defaults, shared by the server and the build without libmicrohttpd. */
#include "serve/server.h"

vc_server_opts vc_server_default_opts(void) {
    return (vc_server_opts){.host = "127.0.0.1", .port = 8080, .threads = 4, .timeout_s = 15, .max_body = 64 * 1024,
                            .max_k = 100, .thumb_width = 320};
}
