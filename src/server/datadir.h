/* datadir.h - where the server keeps its state, and the admin token that guards the API. */
#ifndef KL_SERVER_DATADIR_H
#define KL_SERVER_DATADIR_H

#include <stddef.h>

#include "common/err.h"

#define KL_TOKEN_HEX 64          /* 32 random bytes as hex */

/**
 * The default data folder: $KERNLESS_DATA, else $XDG_DATA_HOME/kernless,
 * else $HOME/.local/share/kernless. Shared by the server and the CLI, which
 * reads the admin token of a local server from there. -ENAMETOOLONG/-ENOENT.
 */
int kl_data_dir_default(char *buf, size_t len);

/** Create `dir` (and its parents, and images/, modules/, build/) mode 0700. */
int kl_data_dir_prepare(const char *dir, struct kl_err *err);

/**
 * Clear what an interrupted deploy left in `dir`: compiler processes still
 * working in build/ (killed), temp files (named with KL_TMP_MARK) in
 * images/ and modules/, and compile folders in build/. Call before serving,
 * with `dir` as an absolute path. Returns how many things were cleared.
 */
int kl_data_dir_sweep(const char *dir);

/**
 * Read <dir>/admin.token, or create it (0600, O_EXCL) with a fresh random
 * token; *created tells which. `tok` needs KL_TOKEN_HEX + 1 bytes.
 */
int kl_admin_token_ensure(const char *dir, char *tok, int *created,
                          struct kl_err *err);

/** Read <dir>/admin.token (for the CLI); -ENOENT when there is none. */
int kl_admin_token_read(const char *dir, char *tok, size_t len,
                        struct kl_err *err);

/** Fill `out` with 2*nbytes hex digits of kernel randomness plus a NUL. */
int kl_random_hex(char *out, size_t nbytes);

/** Compare a presented token with the real one in time independent of where they differ. */
int kl_token_equal(const char *given, size_t given_len, const char *real);

#endif
