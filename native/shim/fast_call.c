/*
 * boo shim: the hot path of a convolution, in C (compiled into libboo_miopen_shim.so by
 * boo_shim/shim/build.py, after the cffi prelude).
 *
 * Entering the embedded Python costs tens of microseconds a call on a small VM before any work
 * is done (the GIL, argument conversion, then a few layers of Python that each touch cold
 * memory). So a convolution the shim has already served once, with descriptors of the same
 * content, is served from here instead: a binary call frame (boo_shim/protocol.py,
 * "hot calls") goes to the daemon on this thread's call channel (a Unix stream socket beside
 * the daemon's ipc endpoint; protocol.py, "call channels"), written straight from the caller's
 * tensors, and the reply's bytes are read straight into the caller's output. Python is
 * entered only on a miss, and it alone decides
 * what may take this path: it registers a fast entry after serving a call itself, and only
 * when the call was plain (alpha 1, beta 0, packed tensors, a daemon on an ipc endpoint, no
 * tracing, comparing or command logging).
 *
 * What a fast entry is keyed on: the direction and the *content ids* of the four descriptors.
 * Python gives every descriptor content it sees an id from a counter (never reused) and notes,
 * after every Create/Set/Destroy, which content id each descriptor pointer now holds
 * (boo_fast_note). A descriptor destroyed and created again at the same address, or changed by a
 * Set, therefore maps to a different id (or to none), and can never reach a stale entry; and
 * programs that create fresh descriptors for every call (PyTorch does) still hit, because equal
 * content gets the same id.
 *
 * Anything unexpected makes the call a miss (return BOO_FAST_MISS) or, once the request has
 * gone out, closes this thread's socket and drops the entry (BOO_FAST_FAILED); either way the
 * caller then runs the Python path, which does the call properly or reports the error. A
 * convolution is idempotent, so running it again is always safe.
 *
 * Waiting: wake-ups are the dear part of a round trip on a small VM (tens of microseconds each
 * way), so after sending, the thread polls the socket without sleeping for `spin_us` before it
 * blocks; the daemon does the same between calls (boo-daemon --spin-us). A daemon that dies
 * closes the socket, which ends the wait at once.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BOO_FAST_DONE 0
#define BOO_FAST_MISS 1
#define BOO_FAST_FAILED 2

#define BOO_CHANNEL_MAX_FRAME ((size_t)4 << 20) /* protocol.CHANNEL_MAX_FRAME */

#define BOO_FAST_FWD 0
#define BOO_FAST_BWD 1
#define BOO_FAST_WRW 2

/* ---- pointer -> value tables (descriptors, handles) ------------------------------------------ */
/* Open addressing with linear probing and backward-shift deletion; fixed size. A table that is
 * full refuses new pointers, which only means misses. */
#define BOO_PTR_SLOTS (1u << 16)

typedef struct
{
    uintptr_t ptr; /* 0 = empty */
    uint64_t content_id;
    double last_ms; /* handles: the last fast call's time */
    int last_fast;  /* handles: the last conv call on it went this way */
} boo_ptr_slot;

typedef struct
{
    boo_ptr_slot *slots;
    size_t used;
} boo_ptr_table;

static pthread_mutex_t boo_fast_lock = PTHREAD_MUTEX_INITIALIZER; /* guards every table below */
static boo_ptr_table boo_descriptors, boo_handles;

static size_t boo_ptr_hash(uintptr_t p)
{
    uint64_t x = (uint64_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (BOO_PTR_SLOTS - 1);
}

static boo_ptr_slot *boo_ptr_find(boo_ptr_table *t, uintptr_t p)
{
    if(t->slots == NULL || p == 0)
        return NULL;
    for(size_t i = boo_ptr_hash(p), n = 0; n < BOO_PTR_SLOTS; i = (i + 1) & (BOO_PTR_SLOTS - 1), ++n)
    {
        if(t->slots[i].ptr == p)
            return &t->slots[i];
        if(t->slots[i].ptr == 0)
            return NULL;
    }
    return NULL;
}

static void boo_ptr_remove(boo_ptr_table *t, uintptr_t p)
{
    boo_ptr_slot *s = boo_ptr_find(t, p);
    if(s == NULL)
        return;
    size_t hole = (size_t)(s - t->slots);
    t->slots[hole].ptr = 0;
    t->used--;
    /* backward shift: pull later members of the probe run into the hole */
    for(size_t j = (hole + 1) & (BOO_PTR_SLOTS - 1); t->slots[j].ptr != 0; j = (j + 1) & (BOO_PTR_SLOTS - 1))
    {
        size_t home = boo_ptr_hash(t->slots[j].ptr);
        int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if(movable)
        {
            t->slots[hole] = t->slots[j];
            t->slots[j].ptr = 0;
            hole = j;
        }
    }
}

static boo_ptr_slot *boo_ptr_put(boo_ptr_table *t, uintptr_t p)
{
    if(p == 0)
        return NULL;
    if(t->slots == NULL)
    {
        t->slots = calloc(BOO_PTR_SLOTS, sizeof(boo_ptr_slot));
        if(t->slots == NULL)
            return NULL;
    }
    boo_ptr_slot *s = boo_ptr_find(t, p);
    if(s != NULL)
        return s;
    if(t->used >= BOO_PTR_SLOTS * 3 / 4)
        return NULL;
    size_t i = boo_ptr_hash(p);
    while(t->slots[i].ptr != 0)
        i = (i + 1) & (BOO_PTR_SLOTS - 1);
    memset(&t->slots[i], 0, sizeof(t->slots[i]));
    t->slots[i].ptr = p;
    t->used++;
    return &t->slots[i];
}

/* ---- fast entries ---------------------------------------------------------------------------- */
#define BOO_FAST_SLOTS 1024 /* a small direct-mapped cache with a short probe; a full one replaces */
#define BOO_FAST_PROBE 8

typedef struct
{
    int used;
    int direction;
    uint64_t content[4]; /* x, w, conv, y descriptors */
    uint64_t plan_id;
    size_t in_nbytes[2]; /* the plan's inputs, in its order */
    size_t out_nbytes;
} boo_fast_entry;

static boo_fast_entry boo_fast_entries[BOO_FAST_SLOTS];

static struct
{
    int enabled;
    char channel[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the daemon's call channel */
    long timeout_ms;
    long spin_us;
    uint64_t generation; /* bumped by every (re)configuration: threads reconnect */
    pid_t owner;         /* the process that configured it: a forked child configures anew */
} boo_fast = {0};

static size_t boo_fast_hash(int direction, const uint64_t content[4])
{
    uint64_t x = (uint64_t)direction * 0x9e3779b97f4a7c15ull;
    for(int i = 0; i < 4; ++i)
        x = (x ^ content[i]) * 0x100000001b3ull;
    return (size_t)(x ^ (x >> 29)) & (BOO_FAST_SLOTS - 1);
}

static boo_fast_entry *boo_fast_find(int direction, const uint64_t content[4])
{
    size_t h = boo_fast_hash(direction, content);
    for(int k = 0; k < BOO_FAST_PROBE; ++k)
    {
        boo_fast_entry *e = &boo_fast_entries[(h + (size_t)k) & (BOO_FAST_SLOTS - 1)];
        if(e->used && e->direction == direction && memcmp(e->content, content, sizeof(e->content)) == 0)
            return e;
    }
    return NULL;
}

/* ---- called from Python (with the GIL; C readers take the lock) ------------------------------ */
/* Where the daemon's call channel is, how long to wait for a reply and how long to poll before
 * sleeping. Every change (or a disable, enabled = 0) drops every fast entry. */
int boo_fast_configure(int enabled, const char *channel_path, long timeout_ms, long spin_us)
{
    pthread_mutex_lock(&boo_fast_lock);
    if(channel_path == NULL || strlen(channel_path) >= sizeof(boo_fast.channel))
        enabled = 0;
    boo_fast.enabled = enabled;
    if(enabled)
        strcpy(boo_fast.channel, channel_path);
    boo_fast.owner = getpid();
    boo_fast.timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    boo_fast.spin_us = spin_us > 0 ? spin_us : 0;
    boo_fast.generation++;
    memset(boo_fast_entries, 0, sizeof(boo_fast_entries));
    pthread_mutex_unlock(&boo_fast_lock);
    return enabled;
}

/* Descriptor `ptr` now holds content `content_id` (0: unknown, or gone). */
void boo_fast_note(uintptr_t ptr, uint64_t content_id)
{
    pthread_mutex_lock(&boo_fast_lock);
    if(content_id == 0)
        boo_ptr_remove(&boo_descriptors, ptr);
    else
    {
        boo_ptr_slot *s = boo_ptr_put(&boo_descriptors, ptr);
        if(s != NULL)
            s->content_id = content_id;
    }
    pthread_mutex_unlock(&boo_fast_lock);
}

/* Handle `ptr` exists (alive != 0) or is gone; a conv call Python served on it clears the mark
 * that its last call was fast. */
void boo_fast_note_handle(uintptr_t ptr, int alive)
{
    pthread_mutex_lock(&boo_fast_lock);
    if(alive)
    {
        boo_ptr_slot *s = boo_ptr_put(&boo_handles, ptr);
        if(s != NULL)
        {
            s->content_id = 1;
            s->last_fast = 0;
        }
    }
    else
        boo_ptr_remove(&boo_handles, ptr);
    pthread_mutex_unlock(&boo_fast_lock);
}

/* The content id C holds for descriptor `ptr` (0: none); for tests of the table. */
uint64_t boo_fast_descriptor_content(uintptr_t ptr)
{
    pthread_mutex_lock(&boo_fast_lock);
    boo_ptr_slot *s = boo_ptr_find(&boo_descriptors, ptr);
    uint64_t id = s != NULL ? s->content_id : 0;
    pthread_mutex_unlock(&boo_fast_lock);
    return id;
}

/* 1 and the time when the last conv call on `handle` took the fast path. */
int boo_fast_last_ms(uintptr_t handle, double *ms)
{
    int fast = 0;
    pthread_mutex_lock(&boo_fast_lock);
    boo_ptr_slot *s = boo_ptr_find(&boo_handles, handle);
    if(s != NULL && s->last_fast)
    {
        fast = 1;
        *ms = s->last_ms;
    }
    pthread_mutex_unlock(&boo_fast_lock);
    return fast;
}

void boo_fast_add(int direction, uint64_t x, uint64_t w, uint64_t conv, uint64_t y, uint64_t plan_id,
                  size_t in0, size_t in1, size_t out)
{
    uint64_t content[4] = {x, w, conv, y};
    if(!x || !w || !conv || !y || !plan_id)
        return;
    pthread_mutex_lock(&boo_fast_lock);
    if(boo_fast.enabled)
    {
        boo_fast_entry *e = boo_fast_find(direction, content);
        if(e == NULL)
        {
            size_t h = boo_fast_hash(direction, content);
            e = &boo_fast_entries[h];
            for(int k = 0; k < BOO_FAST_PROBE; ++k)
                if(!boo_fast_entries[(h + (size_t)k) & (BOO_FAST_SLOTS - 1)].used)
                {
                    e = &boo_fast_entries[(h + (size_t)k) & (BOO_FAST_SLOTS - 1)];
                    break;
                }
        }
        e->used = 1;
        e->direction = direction;
        memcpy(e->content, content, sizeof(content));
        e->plan_id = plan_id;
        e->in_nbytes[0] = in0;
        e->in_nbytes[1] = in1;
        e->out_nbytes = out;
    }
    pthread_mutex_unlock(&boo_fast_lock);
}

/* How many calls took the fast path in this process (tests and benchmarks read it). */
static uint64_t boo_fast_calls = 0;

uint64_t boo_fast_count(void)
{
    return __atomic_load_n(&boo_fast_calls, __ATOMIC_RELAXED);
}

/* ---- this thread's call channel ------------------------------------------------------------- */
typedef struct
{
    int fd;      /* -1: none */
    pid_t owner; /* the process that opened `fd` (a forked child only closes its copy) */
    uint64_t generation;
    uint64_t next_id;
} boo_fast_thread;

static pthread_key_t boo_fast_key;
static pthread_once_t boo_fast_key_once = PTHREAD_ONCE_INIT;

static void boo_fast_thread_exit(void *p)
{
    boo_fast_thread *t = p;
    if(t->fd >= 0)
        close(t->fd);
    free(t);
}

static void boo_fast_make_key(void) { pthread_key_create(&boo_fast_key, boo_fast_thread_exit); }

static void boo_fast_drop_channel(boo_fast_thread *t)
{
    if(t->fd >= 0)
        close(t->fd); /* in a forked child this closes only the child's copy */
    t->fd = -1;
}

/* This thread's connected channel for the current configuration, or -1. */
static int boo_fast_channel(boo_fast_thread *t, uint64_t generation, const char *path)
{
    if(t->fd >= 0 && t->generation == generation && t->owner == getpid())
        return t->fd;
    boo_fast_drop_channel(t);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if(fd < 0)
        return -1;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path); /* fits: checked by boo_fast_configure */
    if(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
    {
        close(fd);
        return -1;
    }
    t->fd = fd;
    t->owner = getpid();
    t->generation = generation;
    return fd;
}

static double boo_fast_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Wait until `fd` has `events` or the deadline passes: 1 ready, 0 timed out, -1 error. */
static int boo_fast_wait(int fd, short events, double deadline)
{
    for(;;)
    {
        double left = deadline - boo_fast_now_ms();
        if(left <= 0)
            return 0;
        struct pollfd item = {fd, events, 0};
        int rc = poll(&item, 1, (int)left + 1);
        if(rc > 0)
            return 1; /* readable, or hung up / in error: the read or write says which */
        if(rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Send all of `iov` before the deadline (the socket is never left blocking us). */
static int boo_fast_send_all(int fd, struct iovec *iov, int n, double deadline)
{
    while(n > 0)
    {
        struct msghdr msg;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)n;
        ssize_t sent = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if(sent < 0)
        {
            if(errno == EINTR)
                continue;
            if((errno == EAGAIN || errno == EWOULDBLOCK) && boo_fast_wait(fd, POLLOUT, deadline) == 1)
                continue;
            return -1;
        }
        while(n > 0 && (size_t)sent >= iov->iov_len)
        {
            sent -= (ssize_t)iov->iov_len;
            ++iov;
            --n;
        }
        if(n > 0)
        {
            iov->iov_base = (char *)iov->iov_base + sent;
            iov->iov_len -= (size_t)sent;
        }
    }
    return 0;
}

/* Read exactly `len` bytes before the deadline; -1 on EOF (the daemon is gone), error, timeout. */
static int boo_fast_recv_all(int fd, void *buf, size_t len, double deadline)
{
    char *p = buf;
    while(len > 0)
    {
        ssize_t got = recv(fd, p, len, MSG_DONTWAIT);
        if(got > 0)
        {
            p += got;
            len -= (size_t)got;
            continue;
        }
        if(got == 0)
            return -1;
        if(errno == EINTR)
            continue;
        if((errno == EAGAIN || errno == EWOULDBLOCK) && boo_fast_wait(fd, POLLIN, deadline) == 1)
            continue;
        return -1;
    }
    return 0;
}

/* Poll for the reply's first byte without sleeping, for up to `spin_us`: the reply of a small
 * call usually comes within that, and a thread that slept would pay a wake-up for it. */
static void boo_fast_spin(int fd, long spin_us)
{
    if(spin_us <= 0)
        return;
    double until = boo_fast_now_ms() + (double)spin_us * 1e-3;
    char byte;
    do
    {
        ssize_t got = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if(got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return; /* data, EOF or an error: the read that follows sees it */
        sched_yield(); /* with more threads than cores, the daemon may be waiting for this one */
    } while(boo_fast_now_ms() < until);
}

/* Serve one call from C, or say why not. `in` are the call's inputs in the plan's order. */
static int boo_fast_call(int direction, miopenHandle_t handle, const void *alpha, const void *beta,
                         const void *x_desc, const void *w_desc, const void *conv_desc, const void *y_desc,
                         const void *in0, const void *in1, void *out)
{
    if(!__atomic_load_n(&boo_fast.enabled, __ATOMIC_RELAXED) || boo_fast.owner != getpid())
        return BOO_FAST_MISS; /* a forked child: Python configures it anew first */
    if(alpha == NULL || beta == NULL || in0 == NULL || in1 == NULL || out == NULL ||
       *(const float *)alpha != 1.0f || *(const float *)beta != 0.0f)
        return BOO_FAST_MISS;
    boo_fast_entry entry;
    char channel[sizeof(boo_fast.channel)];
    uint64_t generation;
    long timeout_ms, spin_us;
    pthread_mutex_lock(&boo_fast_lock);
    uint64_t content[4] = {0, 0, 0, 0};
    const void *descs[4] = {x_desc, w_desc, conv_desc, y_desc};
    int ok = boo_fast.enabled && boo_ptr_find(&boo_handles, (uintptr_t)handle) != NULL;
    for(int i = 0; ok && i < 4; ++i)
    {
        boo_ptr_slot *s = boo_ptr_find(&boo_descriptors, (uintptr_t)descs[i]);
        ok = s != NULL;
        if(ok)
            content[i] = s->content_id;
    }
    boo_fast_entry *e = ok ? boo_fast_find(direction, content) : NULL;
    if(e != NULL && 24 + e->in_nbytes[0] + e->in_nbytes[1] > BOO_CHANNEL_MAX_FRAME)
        e = NULL; /* the daemon takes no bigger frame on its channel (protocol.CHANNEL_MAX_FRAME) */
    if(e != NULL)
    {
        entry = *e;
        strcpy(channel, boo_fast.channel);
        generation = boo_fast.generation;
        timeout_ms = boo_fast.timeout_ms;
        spin_us = boo_fast.spin_us;
    }
    pthread_mutex_unlock(&boo_fast_lock);
    if(e == NULL)
        return BOO_FAST_MISS;

    pthread_once(&boo_fast_key_once, boo_fast_make_key);
    boo_fast_thread *t = pthread_getspecific(boo_fast_key);
    if(t == NULL)
    {
        t = calloc(1, sizeof(*t));
        if(t == NULL || pthread_setspecific(boo_fast_key, t) != 0)
        {
            free(t);
            return BOO_FAST_MISS;
        }
        t->fd = -1;
    }
    int fd = boo_fast_channel(t, generation, channel);
    if(fd < 0)
        return BOO_FAST_MISS;

    /* The frame: length, 24-byte header (magic, version 1, kind 1, flags 0, request id, plan
     * id), then the inputs, sent from where they lie. */
    uint64_t request_id = ++t->next_id;
    unsigned char head[4 + 24];
    uint32_t frame_len = (uint32_t)(24 + entry.in_nbytes[0] + entry.in_nbytes[1]);
    memcpy(head, &frame_len, 4);
    memcpy(head + 4, "BOOc", 4);
    head[8] = 1; /* protocol version */
    head[9] = 1; /* kind: call */
    head[10] = head[11] = 0;
    memcpy(head + 12, &request_id, 8);
    memcpy(head + 20, &entry.plan_id, 8);
    struct iovec iov[3] = {{head, sizeof(head)},
                           {(void *)in0, entry.in_nbytes[0]},
                           {(void *)in1, entry.in_nbytes[1]}};
    double t0 = boo_fast_now_ms();
    double deadline = t0 + (double)timeout_ms;
    int status = BOO_FAST_FAILED;
    if(boo_fast_send_all(fd, iov, 3, deadline) == 0)
    {
        /* The reply: length, 32-byte header (magic, version 1, kind 2, flags 0, request id,
         * kernel ms, daemon us), then exactly the result, read into the caller's output only
         * once the header says it is ours. Anything else (a JSON error reply, a closed
         * socket) leaves the call to the Python path, which sees the error for itself. */
        unsigned char reply[4 + 32];
        uint32_t reply_len;
        uint64_t rid;
        boo_fast_spin(fd, spin_us);
        if(boo_fast_recv_all(fd, reply, sizeof(reply), deadline) == 0)
        {
            memcpy(&reply_len, reply, 4);
            memcpy(&rid, reply + 12, 8);
            if(reply_len == 32 + entry.out_nbytes && memcmp(reply + 4, "BOOc", 4) == 0 && reply[8] == 1 &&
               reply[9] == 2 && reply[10] == 0 && reply[11] == 0 && rid == request_id &&
               boo_fast_recv_all(fd, out, entry.out_nbytes, deadline) == 0)
                status = BOO_FAST_DONE;
        }
    }
    if(status == BOO_FAST_DONE)
    {
        double ms = boo_fast_now_ms() - t0;
        __atomic_add_fetch(&boo_fast_calls, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&boo_fast_lock);
        boo_ptr_slot *h = boo_ptr_find(&boo_handles, (uintptr_t)handle);
        if(h != NULL)
        {
            h->last_fast = 1;
            h->last_ms = ms;
        }
        pthread_mutex_unlock(&boo_fast_lock);
        return BOO_FAST_DONE;
    }
    /* A reply we did not expect (an error, a restarted daemon that does not know the plan) or
     * none: forget the entry and the channel; the Python path takes it from here. The output
     * may hold part of a result by now; the Python path overwrites all of it. */
    boo_fast_drop_channel(t);
    pthread_mutex_lock(&boo_fast_lock);
    boo_fast_entry *gone = boo_fast_find(direction, content);
    if(gone != NULL)
        gone->used = 0;
    pthread_mutex_unlock(&boo_fast_lock);
    return BOO_FAST_FAILED;
}

/* ---- the six convolution entry points: C first, then Python ---------------------------------- */
/* Immediate mode has no alpha/beta (it is alpha 1, beta 0) and names boo's solution for the
 * direction (the ids GetSolution hands out: 1, 2, 3); any other id goes to Python, which says
 * BadParm. PyTorch uses immediate mode unless cudnn.benchmark is on. */
static const float boo_one = 1.0f, boo_zero = 0.0f;

miopenStatus_t miopenConvolutionForward(miopenHandle_t handle, const void *alpha,
                                        const miopenTensorDescriptor_t xDesc, const void *x,
                                        const miopenTensorDescriptor_t wDesc, const void *w,
                                        const miopenConvolutionDescriptor_t convDesc, miopenConvFwdAlgorithm_t algo,
                                        const void *beta, const miopenTensorDescriptor_t yDesc, void *y,
                                        void *workSpace, size_t workSpaceSize)
{
    if(boo_fast_call(BOO_FAST_FWD, handle, alpha, beta, xDesc, wDesc, convDesc, yDesc, x, w, y) == BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionForward(handle, alpha, xDesc, x, wDesc, w, convDesc, algo, beta, yDesc, y,
                                           workSpace, workSpaceSize);
}

miopenStatus_t miopenConvolutionBackwardData(miopenHandle_t handle, const void *alpha,
                                             const miopenTensorDescriptor_t dyDesc, const void *dy,
                                             const miopenTensorDescriptor_t wDesc, const void *w,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             miopenConvBwdDataAlgorithm_t algo, const void *beta,
                                             const miopenTensorDescriptor_t dxDesc, void *dx, void *workSpace,
                                             size_t workSpaceSize)
{
    if(boo_fast_call(BOO_FAST_BWD, handle, alpha, beta, dxDesc, wDesc, convDesc, dyDesc, dy, w, dx) ==
       BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionBackwardData(handle, alpha, dyDesc, dy, wDesc, w, convDesc, algo, beta, dxDesc,
                                                dx, workSpace, workSpaceSize);
}

miopenStatus_t miopenConvolutionBackwardWeights(miopenHandle_t handle, const void *alpha,
                                                const miopenTensorDescriptor_t dyDesc, const void *dy,
                                                const miopenTensorDescriptor_t xDesc, const void *x,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                miopenConvBwdWeightsAlgorithm_t algo, const void *beta,
                                                const miopenTensorDescriptor_t dwDesc, void *dw, void *workSpace,
                                                size_t workSpaceSize)
{
    if(boo_fast_call(BOO_FAST_WRW, handle, alpha, beta, xDesc, dwDesc, convDesc, dyDesc, dy, x, dw) ==
       BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionBackwardWeights(handle, alpha, dyDesc, dy, xDesc, x, convDesc, algo, beta, dwDesc,
                                                   dw, workSpace, workSpaceSize);
}

miopenStatus_t miopenConvolutionForwardImmediate(miopenHandle_t handle, const miopenTensorDescriptor_t wDesc,
                                                 const void *w, const miopenTensorDescriptor_t xDesc, const void *x,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc, void *y, void *workSpace,
                                                 size_t workSpaceSize, const uint64_t solution_id)
{
    if(solution_id == 1 &&
       boo_fast_call(BOO_FAST_FWD, handle, &boo_one, &boo_zero, xDesc, wDesc, convDesc, yDesc, x, w, y) ==
           BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionForwardImmediate(handle, wDesc, w, xDesc, x, convDesc, yDesc, y, workSpace,
                                                    workSpaceSize, solution_id);
}

miopenStatus_t miopenConvolutionBackwardDataImmediate(miopenHandle_t handle, const miopenTensorDescriptor_t dyDesc,
                                                      const void *dy, const miopenTensorDescriptor_t wDesc,
                                                      const void *w, const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc, void *dx, void *workSpace,
                                                      size_t workSpaceSize, const uint64_t solution_id)
{
    if(solution_id == 2 &&
       boo_fast_call(BOO_FAST_BWD, handle, &boo_one, &boo_zero, dxDesc, wDesc, convDesc, dyDesc, dy, w, dx) ==
           BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionBackwardDataImmediate(handle, dyDesc, dy, wDesc, w, convDesc, dxDesc, dx,
                                                         workSpace, workSpaceSize, solution_id);
}

miopenStatus_t miopenConvolutionBackwardWeightsImmediate(miopenHandle_t handle, const miopenTensorDescriptor_t dyDesc,
                                                         const void *dy, const miopenTensorDescriptor_t xDesc,
                                                         const void *x, const miopenConvolutionDescriptor_t convDesc,
                                                         const miopenTensorDescriptor_t dwDesc, void *dw,
                                                         void *workSpace, size_t workSpaceSize,
                                                         const uint64_t solution_id)
{
    if(solution_id == 3 &&
       boo_fast_call(BOO_FAST_WRW, handle, &boo_one, &boo_zero, xDesc, dwDesc, convDesc, dyDesc, dy, x, dw) ==
           BOO_FAST_DONE)
        return miopenStatusSuccess;
    return boo_py_miopenConvolutionBackwardWeightsImmediate(handle, dyDesc, dy, xDesc, x, convDesc, dwDesc, dw,
                                                            workSpace, workSpaceSize, solution_id);
}
