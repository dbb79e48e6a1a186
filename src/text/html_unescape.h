/* HTML character references, exactly as the reference tokenizer decodes them. */
#ifndef VC_TEXT_HTML_UNESCAPE_H
#define VC_TEXT_HTML_UNESCAPE_H

#include "text/ustr.h"

/* out = html.unescape(in) (Python's stdlib: named references with and without ';', the longest
 * legacy prefix, numeric references with the HTML5 remapping). Numbers with more than 4300
 * decimal digits make Python raise ValueError; here they decode to U+FFFD like any number
 * above U+10FFFF. */
void vc_html_unescape(const vc_ustr *in, vc_ustr *out);

/* out = ftfy.fixes.unescape_html(in): only `&name;`, `&NAME;` (ftfy's all-caps variants) and
 * `&#...;` references, the latter only when html.unescape consumes the ';'. */
void vc_ftfy_unescape_html(const vc_ustr *in, vc_ustr *out);

#endif
