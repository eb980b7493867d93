/* version.h - the release of Kernless that `kernless --version` names. */
#ifndef KERNLESS_VERSION_H
#define KERNLESS_VERSION_H

/* Semantic versioning: bump it when a release is cut. The image ABI has
 * its own number (KL_ABI_VERSION in abi.h); images are checked against
 * that, never against this. */
#define KL_VERSION "0.1.0"

#endif
