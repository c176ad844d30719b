/* What nsenter.c (the C stage A and the fork of B) and final.c (B's
 * container work without Go, for exec) share: the sync socket. */
#ifndef TEKAPO_NSENTER_H
#define TEKAPO_NSENTER_H

#include <stddef.h>

extern int sync_fd;

/* write_all exits 1 when the socket is gone; read_all returns -1. */
void write_all(const void *buf, size_t n);
int read_all(void *buf, size_t n);

/* final_stage is B with bootstrap key final=1: it reads the plan
 * (libcontainer/sync.go rows F1-F4) and execs the process. */
__attribute__((noreturn)) void final_stage(void);

#endif
