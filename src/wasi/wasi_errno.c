/* Translation of host errno values to WASI preview1 errno values, and the
 * small value conversions every WASI function needs. */
#include <errno.h>
#include <sys/stat.h>

#include "sandbox.h"
#include "wasi_internal.h"

int wasi_errno(int e)
{
    switch (e) {
    case 0: return WE_SUCCESS;
    case SBX_ENOTCAPABLE: return WE_NOTCAPABLE;
    case E2BIG: return WE_2BIG;
    case EACCES: return WE_ACCES;
    case EADDRINUSE: return 3;
    case EADDRNOTAVAIL: return 4;
    case EAFNOSUPPORT: return 5;
    case EAGAIN: return WE_AGAIN;
    case EALREADY: return 7;
    case EBADF: return WE_BADF;
    case EBADMSG: return 9;
    case EBUSY: return 10;
    case ECANCELED: return 11;
    case ECHILD: return 12;
    case ECONNABORTED: return 13;
    case ECONNREFUSED: return 14;
    case ECONNRESET: return 15;
    case EDEADLK: return 16;
    case EDESTADDRREQ: return 17;
    case EDOM: return 18;
    case EDQUOT: return 19;
    case EEXIST: return WE_EXIST;
    case EFAULT: return WE_FAULT;
    case EFBIG: return 22;
    case EHOSTUNREACH: return 23;
    case EIDRM: return 24;
    case EILSEQ: return 25;
    case EINPROGRESS: return 26;
    case EINTR: return WE_INTR;
    case EINVAL: return WE_INVAL;
    case EIO: return WE_IO;
    case EISCONN: return 30;
    case EISDIR: return WE_ISDIR;
    case ELOOP: return WE_LOOP;
    case EMFILE: return 33;
    case EMLINK: return 34;
    case EMSGSIZE: return 35;
    case EMULTIHOP: return 36;
    case ENAMETOOLONG: return WE_NAMETOOLONG;
    case ENETDOWN: return 38;
    case ENETRESET: return 39;
    case ENETUNREACH: return 40;
    case ENFILE: return 41;
    case ENOBUFS: return 42;
    case ENODEV: return 43;
    case ENOENT: return WE_NOENT;
    case ENOEXEC: return 45;
    case ENOLCK: return 46;
    case ENOLINK: return 47;
    case ENOMEM: return WE_NOMEM;
    case ENOMSG: return 49;
    case ENOPROTOOPT: return 50;
    case ENOSPC: return 51;
    case ENOSYS: return WE_NOSYS;
    case ENOTCONN: return 53;
    case ENOTDIR: return WE_NOTDIR;
    case ENOTEMPTY: return WE_NOTEMPTY;
    case ENOTRECOVERABLE: return 56;
    case ENOTSOCK: return WE_NOTSOCK;
    case EOPNOTSUPP: return WE_NOTSUP;
    case ENOTTY: return 59;
    case ENXIO: return 60;
    case EOVERFLOW: return WE_OVERFLOW;
    case EOWNERDEAD: return 62;
    case EPERM: return WE_PERM;
    case EPIPE: return 64;
    case EPROTO: return 65;
    case EPROTONOSUPPORT: return 66;
    case EPROTOTYPE: return 67;
    case ERANGE: return 68;
    case EROFS: return 69;
    case ESPIPE: return WE_SPIPE;
    case ESRCH: return 71;
    case ESTALE: return 72;
    case ETIMEDOUT: return 73;
    case ETXTBSY: return 74;
    case EXDEV: return 75;
    default: return WE_IO;
    }
}

uint8_t filetype_of_mode(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return FT_REG;
    case S_IFDIR: return FT_DIR;
    case S_IFCHR: return FT_CHAR;
    case S_IFBLK: return FT_BLOCK;
    case S_IFLNK: return FT_SYMLINK;
    case S_IFSOCK: return FT_STREAM;
    default: return FT_UNKNOWN;
    }
}

int store_u32(struct wasi_call *wc, uint32_t ptr, uint32_t v)
{
    uint8_t *p = gptr(wc, ptr, 4);
    if (!p) return WE_FAULT;
    put_u32(p, v);
    return 0;
}

int store_u64(struct wasi_call *wc, uint32_t ptr, uint64_t v)
{
    uint8_t *p = gptr(wc, ptr, 8);
    if (!p) return WE_FAULT;
    put_u64(p, v);
    return 0;
}
