/* SPDX-License-Identifier: GPL-2.0 */
/* Fallback for tarball and DKMS builds; git builds pass -DCOWGUARD_VERSION. */
#ifndef COWGUARD_VERSION
#define COWGUARD_VERSION "0.1.0"
#endif
