/* cmd_new.c - `kernless new TEMPLATE NAME`: a project folder with a hello function and its kernless.toml. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "cli/templates.h"
#include "server/fnconfig.h"

#define PLACEHOLDER "{{name}}"

/* What each template is, for --list (its files come from templates/). */
static const struct {
    const char *name;
    const char *what;
} templates[] = {
    {"c", "C, built by clang --target=wasm32-wasi with wasi-libc"},
    {"rust", "Rust, built by rustc --target wasm32-wasi (Debian's libstd-rust-dev-wasm32)"},
    {"assemblyscript", "AssemblyScript, built by asc (npm installs it into the project)"},
    {"python", "Python: def handle(request) returns the body"},
    {"js", "JavaScript: function handle(request) returns the body"},
};

static int known(const char *t)
{
    size_t i;

    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
        if (strcmp(templates[i].name, t) == 0)
            return 1;
    return 0;
}

static int list(void)
{
    size_t i;

    printf("templates (kernless new TEMPLATE NAME):\n");
    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
        printf("  %-15s %s\n", templates[i].name, templates[i].what);
    return 0;
}

/* Write `n` bytes of template text with every {{name}} replaced. */
static int write_subst(int fd, const unsigned char *p, size_t n, const char *name)
{
    size_t i = 0, start = 0, pl = strlen(PLACEHOLDER);

    while (i < n) {
        if (n - i >= pl && memcmp(p + i, PLACEHOLDER, pl) == 0) {
            if (write(fd, p + start, i - start) != (ssize_t)(i - start) ||
                write(fd, name, strlen(name)) != (ssize_t)strlen(name))
                return -1;
            i += pl;
            start = i;
        } else {
            i++;
        }
    }
    return write(fd, p + start, n - start) == (ssize_t)(n - start) ? 0 : -1;
}

/* Create dir/path's parent folders, then the file. */
static int write_file(const char *dir, const struct kl_template_file *f, const char *name)
{
    char path[PATH_MAX], *p;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, f->path);
    for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    /* Scripts stay runnable; everything else is plain text. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
              strstr(f->path, ".sh") ? 0755 : 0644);
    if (fd < 0)
        return -1;
    rc = write_subst(fd, f->data, f->len, name);
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

static int cmd_new(int argc, char **argv)
{
    unsigned i, n = 0;

    if (argc == 2 && strcmp(argv[1], "--list") == 0)
        return list();
    if (argc != 3) {
        fprintf(stderr, "kernless: usage: kernless new TEMPLATE NAME | kernless new --list\n");
        return 2;
    }
    if (!known(argv[1]))
        return kl_cli_fail("new: no template \"%s\" (kernless new --list shows them)", argv[1]), 2;
    if (!kl_fn_name_ok(argv[2]))
        return kl_cli_fail("new: bad name \"%s\": it names the folder, the function and "
                           "its route (1-63 of a-z 0-9 _ -)", argv[2]), 2;
    if (mkdir(argv[2], 0755) < 0)
        return kl_cli_fail("new: cannot create %s: %s", argv[2], strerror(errno));
    for (i = 0; i < kl_template_nfiles; i++) {
        if (strcmp(kl_template_files[i].tmpl, argv[1]) != 0)
            continue;
        if (write_file(argv[2], &kl_template_files[i], argv[2]) < 0)
            return kl_cli_fail("new: cannot write %s/%s: %s", argv[2],
                               kl_template_files[i].path, strerror(errno));
        n++;
    }
    printf("created %s/ from the %s template (%u files); next: cd %s && kernless up\n",
           argv[2], argv[1], n, argv[2]);
    return 0;
}

const struct kl_cmd kl_cmd_new = {
    .name = "new",
    .summary = "create a project from a template (new --list shows them)",
    .usage = 
    "usage: kernless new TEMPLATE NAME | kernless new --list\n"
    "  makes folder NAME from TEMPLATE: a kernless.toml and a function\n"
    "  --list  the templates\n",
    .run = cmd_new,
};
