/* viclip serve: the moment index over HTTP (src/serve): a JSON API and a one-page UI. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

int cmd_serve(int argc, char **argv) {
    const char *model = NULL, *index = NULL, *vocab = NULL;
    struct viclip_server_params o = viclip_server_default_params();
    int threads = 0, max_body_kb = (int)(o.max_body / 1024);
    const arg_spec specs[] = {
        {'m', "model", ARG_STR, &model, "FILE", "model file (the one that made the index)"},
        {'i', "index", ARG_STR, &index, "PATH", "viclip encode's index (a folder or X.npy)"},
        {0, "host", ARG_STR, &o.host, "ADDR", "IPv4 address to listen on (127.0.0.1: this machine only)"},
        {'p', "port", ARG_INT, &o.port, "N", "port (0: any free one; the address is printed)"},
        {0, "http-threads", ARG_INT, &o.threads, "N", "request threads"},
        {0, "timeout", ARG_INT, &o.timeout_s, "SEC", "close connections idle this long"},
        {0, "max-body-kb", ARG_INT, &max_body_kb, "N", "largest request body"},
        {0, "max-k", ARG_INT, &o.max_k, "N", "most results one search may ask for"},
        CLI_VOCAB_SPEC(vocab),
        {'t', "threads", ARG_INT, &threads, "N", "compute threads (default: all cores)"},
    };
    int rc = args_parse("usage: viclip serve --model FILE --index PATH [--host 127.0.0.1] [--port 8080]", specs,
                        (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    if (rc || !model || !index || o.threads < 1 || o.timeout_s < 1 || max_body_kb < 1 || o.max_k < 1) {
        if (!rc) cli_error("serve", "--model and --index are required; --http-threads, --timeout, --max-body-kb, --max-k >= 1");
        return rc > 0 ? 0 : 2;
    }
    o.max_body = (size_t)max_body_kb * 1024;
    cli_set_threads(threads);
    /* SIGINT/SIGTERM are waited for here, not delivered to the server threads */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT), sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    viclip_error err;
    viclip_index *x = NULL;
    viclip_context *m = cli_open_model(model, NULL, NULL, vocab, 1, "serve");
    rc = m ? 0 : 1;
    if (!rc && !(x = viclip_index_open(index, m, &err))) rc = 1, cli_error("serve", err.msg);
    viclip_server *s = rc ? NULL : viclip_server_start(m, x, &o, &err);
    if (!rc && !s) rc = 1, cli_error("serve", err.msg);
    if (s) {
        printf("viclip serve: %d videos, %d windows: listening on http://%s:%d/\n", viclip_index_n_files(x),
               viclip_index_n_windows(x), o.host, viclip_server_port(s));
        fflush(stdout);
        int sig = 0;
        sigwait(&stop, &sig);
        viclip_server_stop(s);
        printf("viclip serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    viclip_index_free(x);
    viclip_free(m);
    return rc;
}
