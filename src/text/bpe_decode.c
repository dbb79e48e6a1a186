/* Ids back to text, as the reference's decode(): token strings -> bytes through the byte
 * alphabet -> UTF-8 with replacement -> "</w>" replaced by " ". */
#include "text/bpe_vocab.h"

#include <stdlib.h>
#include <string.h>

#include "text/ustr.h"

static bool is_byte_char(uint32_t cp) {
    return (cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF) ||
           (cp >= 256 && cp < 324);
}

int vc_bpe_decode(const vc_bpe_vocab *v, const int32_t *ids, int n, char *out, size_t cap, vc_error *err) {
    uint8_t *bytes = NULL;
    size_t nb = 0, bcap = 0;
    vc_ustr cps = {0}, text = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= v->n_tokens || !v->decodable[id]) {
            rc = vc_fail(err, "vc_detokenize: id %d at position %d is not in the vocabulary", id, i);
            break;
        }
        vc_ustr_clear(&cps);
        vc_ustr_from_utf8((const uint8_t *)v->blob + v->tok_off[id], v->tok_len[id], &cps);
        if (bcap < nb + cps.n) {
            bcap = 2 * (nb + cps.n) + 64;
            uint8_t *b = realloc(bytes, bcap);
            if (!b) {
                rc = vc_fail(err, "vc_detokenize: out of memory");
                break;
            }
            bytes = b;
        }
        for (size_t k = 0; k < cps.n; k++) {
            if (!is_byte_char(cps.d[k])) {
                rc = vc_fail(err, "vc_detokenize: token %d has a character outside the byte alphabet", id);
                break;
            }
            bytes[nb++] = (uint8_t)v->char_byte[cps.d[k]];
        }
    }
    if (rc == 0) {
        vc_ustr_from_utf8(bytes, nb, &text);
        /* .replace('</w>', ' ') on the decoded text */
        size_t len = 0;
        uint8_t u[4];
        for (size_t i = 0; i < text.n;) {
            if (i + 4 <= text.n && text.d[i] == '<' && text.d[i + 1] == '/' && text.d[i + 2] == 'w' &&
                text.d[i + 3] == '>') {
                if (len + 1 < cap) out[len] = ' ';
                len++;
                i += 4;
                continue;
            }
            int k = vc_utf8_put(text.d[i++], u);
            if (len + (size_t)k < cap) memcpy(out + len, u, (size_t)k);
            len += (size_t)k;
        }
        if (text.oom || cps.oom) rc = vc_fail(err, "vc_detokenize: out of memory");
        else if (len + 1 > cap || len > INT32_MAX)
            rc = vc_fail(err, "vc_detokenize: output needs %zu bytes, buffer has %zu", len + 1, cap);
        else {
            out[len] = '\0';
            rc = (int)len;
        }
    }
    if (rc < 0) out[0] = '\0';
    free(bytes);
    vc_ustr_free(&cps);
    vc_ustr_free(&text);
    return rc;
}
