/* templates.h - the project templates of `kernless new`, embedded at build time (scripts/embed-templates.sh). */
#ifndef KL_CLI_TEMPLATES_H
#define KL_CLI_TEMPLATES_H

#include <stddef.h>

/** One file of a template: bytes with "{{name}}" where the project's name goes. */
struct kl_template_file {
    const char *tmpl;            /* the template: c, rust, ... */
    const char *path;            /* relative path in the new project */
    const unsigned char *data;
    size_t len;
};

/** Every file of every template, sorted by template then path. */
extern const struct kl_template_file kl_template_files[];
extern const unsigned kl_template_nfiles;

#endif
