/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One line per event on stderr (the runtime folder's daemon.log): ISO time
 * and pid first. Used by every other file; calls none of them.
 */
#ifndef MFS_LOG_H
#define MFS_LOG_H

#include <stdint.h>

void mfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "LOOKUP", "OPEN", ... for log lines; "OP" for the others */
const char *mfs_opcode_name(uint32_t opcode);

#endif
