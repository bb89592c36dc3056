/*
 * Scatter-gather helpers over struct iovec.
 */
#ifndef QEMU_IOV_H
#define QEMU_IOV_H

#include "qemu/osdep.h"
#include <sys/uio.h>

/* Total bytes (saturating at SIZE_MAX). */
size_t iov_size(const struct iovec *iov, unsigned int cnt);
/* Copy up to @len bytes from byte @offset of the vector into @buf;
 * returns the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                    const void *buf, size_t len);
/*
 * Describe bytes [@offset, @offset + @len) of @iov in @out (at most
 * @out_max entries, no copying of data).  Returns the entries used, or
 * -1 if the range is not wholly inside the vector or needs more entries.
 */
int iov_slice(const struct iovec *iov, unsigned int cnt, size_t offset,
              size_t len, struct iovec *out, unsigned int out_max);

#endif
