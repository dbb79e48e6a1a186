/* The single-page UI of viclip serve, served from the binary. */
#ifndef VC_SERVE_PAGE_H
#define VC_SERVE_PAGE_H

extern const char vc_serve_page[];

#endif
