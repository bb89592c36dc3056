/*
 * Scatter-gather helpers: the device code never indexes a guest buffer
 * by hand, so each bound is checked in one place.
 */
#include "qemu/iov.h"

size_t iov_size(const struct iovec *iov, unsigned int cnt)
{
    size_t total = 0;

    for (unsigned int i = 0; i < cnt; i++) {
        if (iov[i].iov_len > SIZE_MAX - total) {
            return SIZE_MAX;
        }
        total += iov[i].iov_len;
    }
    return total;
}

static size_t iov_copy(const struct iovec *iov, unsigned int cnt,
                       size_t offset, void *buf, size_t len, bool to_buf)
{
    size_t done = 0;

    for (unsigned int i = 0; i < cnt && done < len; i++) {
        size_t n;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        n = MIN(iov[i].iov_len - offset, len - done);
        if (to_buf) {
            memcpy((char *)buf + done, (char *)iov[i].iov_base + offset, n);
        } else {
            memcpy((char *)iov[i].iov_base + offset, (char *)buf + done, n);
        }
        done += n;
        offset = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                  void *buf, size_t len)
{
    return iov_copy(iov, cnt, offset, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                    const void *buf, size_t len)
{
    return iov_copy(iov, cnt, offset, (void *)buf, len, false);
}

int iov_slice(const struct iovec *iov, unsigned int cnt, size_t offset,
              size_t len, struct iovec *out, unsigned int out_max)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < cnt && len > 0; i++) {
        size_t take;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        if (n == out_max) {
            return -1;
        }
        take = MIN(iov[i].iov_len - offset, len);
        out[n].iov_base = (char *)iov[i].iov_base + offset;
        out[n].iov_len = take;
        n++;
        len -= take;
        offset = 0;
    }
    return len == 0 ? (int)n : -1;
}
