/*
 * COM1 output and a small printf: flags "-0#", field width, precision
 * (strings only), lengths "l", "ll", "z", conversions d i u x X p s c %.
 */
#include "guest.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

static spinlock_t console_lock;

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80);        /* DLAB: divisor follows */
    outb(COM1 + UART_DLL, 0x01);        /* 115200 baud */
    outb(COM1 + UART_DLM, 0x00);
    outb(COM1 + UART_LCR, 0x03);        /* 8N1 */
    outb(COM1 + UART_FCR, 0x07);        /* enable and clear the FIFOs */
    outb(COM1 + UART_MCR, 0x03);        /* DTR, RTS */
}

static void serial_putc(char c)
{
    /* Bounded: a UART that never drains must not hang the guest. */
    for (int i = 0; i < 100000; i++) {
        if (inb(COM1 + UART_LSR) & UART_LSR_THRE) {
            break;
        }
        cpu_relax();
    }
    outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_steal(void)
{
    spin_unlock(&console_lock);
}

struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;
    size_t size, len;
};

static void put_serial(struct sink *s, char c)
{
    if (c == '\n') {
        serial_putc('\r');
    }
    serial_putc(c);
    s->len++;
}

static void put_buf(struct sink *s, char c)
{
    if (s->len + 1 < s->size) {
        s->buf[s->len] = c;
    }
    s->len++;
}

static void put_padded(struct sink *s, const char *str, size_t len,
                       int width, bool left, char pad)
{
    int fill = width > (int)len ? width - (int)len : 0;

    if (!left) {
        while (fill-- > 0) {
            s->put(s, pad);
        }
    }
    while (len--) {
        s->put(s, *str++);
    }
    while (fill-- > 0) {
        s->put(s, ' ');
    }
}

static void put_number(struct sink *s, uint64_t v, bool neg, unsigned base,
                       bool upper, const char *prefix, int width, bool left,
                       bool zero)
{
    char digits[24], out[32];
    int nd = 0, n = 0;
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";

    do {
        if (base == 16) {
            digits[nd++] = hex[v & 15];
            v >>= 4;
        } else {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        }
    } while (v);

    if (neg) {
        out[n++] = '-';
    }
    while (prefix && *prefix) {
        out[n++] = *prefix++;
    }
    /* Zero padding goes between the sign or prefix and the digits. */
    if (zero && !left) {
        while (n + nd < width && n + nd < (int)sizeof(out)) {
            out[n++] = '0';
        }
    }
    while (nd) {
        out[n++] = digits[--nd];
    }
    put_padded(s, out, n, width, left, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        bool left = false, zero = false, alt = false;
        int width = 0, prec = -1;
        bool wide = false;              /* l, ll, z: all 64-bit */
        uint64_t u;
        int64_t d;

        if (*fmt != '%') {
            s->put(s, *fmt);
            continue;
        }
        for (;; fmt++) {
            if (fmt[1] == '-') {
                left = true;
            } else if (fmt[1] == '0') {
                zero = true;
            } else if (fmt[1] == '#') {
                alt = true;
            } else {
                break;
            }
        }
        while (fmt[1] >= '0' && fmt[1] <= '9') {
            width = width * 10 + (*++fmt - '0');
        }
        if (fmt[1] == '.') {
            fmt++;
            prec = 0;
            while (fmt[1] >= '0' && fmt[1] <= '9') {
                prec = prec * 10 + (*++fmt - '0');
            }
        }
        while (fmt[1] == 'l' || fmt[1] == 'z') {
            fmt++;
            wide = true;
        }
        switch (*++fmt) {
        case 'd':
        case 'i':
            d = wide ? va_arg(ap, long) : va_arg(ap, int);
            put_number(s, d < 0 ? -(uint64_t)d : (uint64_t)d, d < 0, 10,
                       false, NULL, width, left, zero);
            break;
        case 'u':
        case 'x':
        case 'X':
            u = wide ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            if (*fmt == 'u') {
                put_number(s, u, false, 10, false, NULL, width, left, zero);
            } else {
                put_number(s, u, false, 16, *fmt == 'X',
                           alt && u ? "0x" : NULL, width, left, zero);
            }
            break;
        case 'p':
            put_number(s, (uintptr_t)va_arg(ap, void *), false, 16, false,
                       "0x", width, left, zero);
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            size_t len = 0;

            if (!str) {
                str = "(null)";
            }
            while (str[len] && (prec < 0 || len < (size_t)prec)) {
                len++;
            }
            put_padded(s, str, len, width, left, ' ');
            break;
        }
        case 'c':
            s->put(s, (char)va_arg(ap, int));
            break;
        case '%':
            s->put(s, '%');
            break;
        case '\0':
            return;
        default:
            s->put(s, '%');
            s->put(s, *fmt);
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { .put = put_serial };

    spin_lock(&console_lock);
    format(&s, fmt, ap);
    spin_unlock(&console_lock);
    return (int)s.len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .put = put_buf, .buf = buf, .size = size };

    format(&s, fmt, ap);
    if (size) {
        buf[s.len < size ? s.len : size - 1] = '\0';
    }
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
