#include "eval/templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As listed for ViCLIP's action recognition (kinetics_templates_action_clip); the evaluation
 * cleans each filled prompt like a caption (lower case, no punctuation) before tokenising. */
const char *const vc_viclip_action_templates[VC_VICLIP_N_TEMPLATES] = {
    "a photo of action {}",
    "a picture of action {}",
    "Human action of {}",
    "{}, an action",
    "{} this is an action",
    "{}, a video of action",
    "Playing action of {}",
    "{}",
    "Playing a kind of action, {}",
    "Doing a kind of action, {}",
    "Look, the human is {}",
    "Can you recognize the action of {}?",
    "Video classification of {}",
    "A video of {}",
    "The man is {}",
    "The woman is {}",
};

char *vc_fill_template(const char *tmpl, const char *name) {
    const char *at = strstr(tmpl, "{}");
    size_t n = strlen(tmpl) + strlen(name) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    if (at) snprintf(s, n, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
    else snprintf(s, n, "%s", tmpl);
    return s;
}
