/*
 * boo shim: the hot path of a convolution, in C (compiled into libboo_miopen_shim.so by
 * boo_shim/shim/build.py, after the cffi prelude).
 *
 * Entering the embedded Python costs tens of microseconds a call on a small VM before any work
 * is done (the GIL, argument conversion, then a few layers of Python that each touch cold
 * memory). So a convolution the shim has already served once, with descriptors of the same
 * content, is served from here instead: a binary call frame (boo_shim/protocol.py,
 * "hot calls") goes to the daemon on a ZeroMQ socket of this thread, and the reply's bytes go
 * straight into the caller's output. Python is entered only on a miss, and it alone decides
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
 * libzmq is the copy pyzmq already loaded into the process: Python hands over the path of
 * pyzmq's extension module and the functions are looked up through it (its dependencies), so
 * nothing new is linked or loaded.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define BOO_FAST_DONE 0
#define BOO_FAST_MISS 1
#define BOO_FAST_FAILED 2

#define BOO_FAST_FWD 0
#define BOO_FAST_BWD 1
#define BOO_FAST_WRW 2

/* ---- libzmq, declared here (no headers needed; ABI of libzmq 4.x) -------------------------- */
typedef struct
{
    _Alignas(void *) unsigned char bytes[64];
} boo_zmq_msg_t;

typedef struct
{
    void *socket;
    int fd;
    short events;
    short revents;
} boo_zmq_pollitem_t;

enum
{
    BOO_ZMQ_DEALER = 5,
    BOO_ZMQ_LINGER = 17,
    BOO_ZMQ_SNDHWM = 23,
    BOO_ZMQ_RCVHWM = 24,
    BOO_ZMQ_POLLIN = 1,
    BOO_ZMQ_DONTWAIT = 1
};

static struct
{
    void *(*ctx_new)(void);
    void *(*socket)(void *, int);
    int (*connect)(void *, const char *);
    int (*setsockopt)(void *, int, const void *, size_t);
    int (*close)(void *);
    int (*msg_init)(boo_zmq_msg_t *);
    int (*msg_init_size)(boo_zmq_msg_t *, size_t);
    void *(*msg_data)(boo_zmq_msg_t *);
    size_t (*msg_size)(const boo_zmq_msg_t *);
    int (*msg_more)(const boo_zmq_msg_t *);
    int (*msg_send)(boo_zmq_msg_t *, void *, int);
    int (*msg_recv)(boo_zmq_msg_t *, void *, int);
    int (*msg_close)(boo_zmq_msg_t *);
    int (*poll)(boo_zmq_pollitem_t *, int, long);
} boo_zmq;

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
    char endpoint[512];
    pid_t daemon_pid;
    long timeout_ms;
    uint64_t generation; /* bumped by every (re)configuration: threads reconnect */
    void *ctx;
    pid_t owner; /* the process that configured it: a forked child must not use its sockets */
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
int boo_fast_load_zmq(const char *module_path)
{
    void *h = dlopen(module_path, RTLD_NOW | RTLD_NOLOAD);
    if(h == NULL)
        return -1;
#define BOO_ZMQ_SYM(field, name)                        \
    *(void **)(&boo_zmq.field) = dlsym(h, name);        \
    if(boo_zmq.field == NULL)                           \
        return -2;
    BOO_ZMQ_SYM(ctx_new, "zmq_ctx_new")
    BOO_ZMQ_SYM(socket, "zmq_socket")
    BOO_ZMQ_SYM(connect, "zmq_connect")
    BOO_ZMQ_SYM(setsockopt, "zmq_setsockopt")
    BOO_ZMQ_SYM(close, "zmq_close")
    BOO_ZMQ_SYM(msg_init, "zmq_msg_init")
    BOO_ZMQ_SYM(msg_init_size, "zmq_msg_init_size")
    BOO_ZMQ_SYM(msg_data, "zmq_msg_data")
    BOO_ZMQ_SYM(msg_size, "zmq_msg_size")
    BOO_ZMQ_SYM(msg_more, "zmq_msg_more")
    BOO_ZMQ_SYM(msg_send, "zmq_msg_send")
    BOO_ZMQ_SYM(msg_recv, "zmq_msg_recv")
    BOO_ZMQ_SYM(msg_close, "zmq_msg_close")
    BOO_ZMQ_SYM(poll, "zmq_poll")
#undef BOO_ZMQ_SYM
    return 0; /* the NOLOAD reference is kept: pyzmq keeps the library loaded anyway */
}

/* Where the daemon is. Every change (or a disable, enabled = 0) drops every fast entry. */
int boo_fast_configure(int enabled, const char *endpoint, long daemon_pid, long timeout_ms)
{
    pthread_mutex_lock(&boo_fast_lock);
    if(enabled && (boo_zmq.ctx_new == NULL || endpoint == NULL || strlen(endpoint) >= sizeof(boo_fast.endpoint)))
        enabled = 0;
    if(enabled && (boo_fast.ctx == NULL || boo_fast.owner != getpid()))
        boo_fast.ctx = boo_zmq.ctx_new(); /* a forked child leaves its parent's context alone */
    if(boo_fast.ctx == NULL)
        enabled = 0;
    boo_fast.enabled = enabled;
    if(endpoint != NULL && strlen(endpoint) < sizeof(boo_fast.endpoint))
        strcpy(boo_fast.endpoint, endpoint);
    boo_fast.daemon_pid = (pid_t)daemon_pid;
    boo_fast.owner = getpid();
    boo_fast.timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
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

/* How many calls took the fast path in this process (tests and benchmarks read it), and how
 * many went out and were given back (Python checks which daemon answers when this grows). */
static uint64_t boo_fast_calls = 0, boo_fast_failed = 0;

uint64_t boo_fast_count(void)
{
    return __atomic_load_n(&boo_fast_calls, __ATOMIC_RELAXED);
}

uint64_t boo_fast_failures(void)
{
    return __atomic_load_n(&boo_fast_failed, __ATOMIC_RELAXED);
}

/* ---- this thread's socket -------------------------------------------------------------------- */
typedef struct
{
    void *sock;
    pid_t owner; /* the process that opened `sock` (after a fork, not ours to close) */
    uint64_t generation;
    uint64_t next_id;
} boo_fast_thread;

static pthread_key_t boo_fast_key;
static pthread_once_t boo_fast_key_once = PTHREAD_ONCE_INIT;

static void boo_fast_thread_exit(void *p)
{
    boo_fast_thread *t = p;
    if(t->sock != NULL && boo_zmq.close != NULL && t->owner == getpid())
        boo_zmq.close(t->sock);
    free(t);
}

static void boo_fast_make_key(void) { pthread_key_create(&boo_fast_key, boo_fast_thread_exit); }

static void boo_fast_drop_socket(boo_fast_thread *t)
{
    if(t->sock != NULL && t->owner == getpid())
        boo_zmq.close(t->sock);
    t->sock = NULL;
}

/* This thread's connected socket for the current configuration, or NULL. */
static void *boo_fast_socket(boo_fast_thread *t, uint64_t generation, const char *endpoint, void *ctx)
{
    if(t->sock != NULL && t->generation == generation && t->owner == getpid())
        return t->sock;
    boo_fast_drop_socket(t);
    void *s = boo_zmq.socket(ctx, BOO_ZMQ_DEALER);
    if(s == NULL)
        return NULL;
    int zero = 0, hwm = 4;
    boo_zmq.setsockopt(s, BOO_ZMQ_LINGER, &zero, sizeof(zero));
    boo_zmq.setsockopt(s, BOO_ZMQ_SNDHWM, &hwm, sizeof(hwm));
    boo_zmq.setsockopt(s, BOO_ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if(boo_zmq.connect(s, endpoint) != 0)
    {
        boo_zmq.close(s);
        return NULL;
    }
    t->sock = s;
    t->owner = getpid();
    t->generation = generation;
    return s;
}

static double boo_fast_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int boo_daemon_alive(pid_t pid) { return pid <= 0 || kill(pid, 0) == 0 || errno == EPERM; }

/* The reply: 32-byte header (magic, version 1, kind 2, flags 0, request id, kernel ms, daemon us)
 * and exactly the result's bytes. */
static int boo_fast_take_reply(boo_zmq_msg_t *msg, uint64_t request_id, void *out, size_t out_nbytes,
                               double *kernel_ms)
{
    const unsigned char *p = boo_zmq.msg_data(msg);
    size_t n = boo_zmq.msg_size(msg);
    if(boo_zmq.msg_more(msg) || n != 32 + out_nbytes || memcmp(p, "BOOc", 4) != 0 || p[4] != 1 || p[5] != 2 ||
       p[6] != 0 || p[7] != 0)
        return -1; /* a JSON error reply among others: the Python path will see the error */
    uint64_t rid;
    memcpy(&rid, p + 8, 8);
    if(rid != request_id)
        return -1;
    memcpy(kernel_ms, p + 16, 8);
    memcpy(out, p + 32, out_nbytes);
    return 0;
}

/* Serve one call from C, or say why not. `in` are the call's inputs in the plan's order. */
static int boo_fast_call(int direction, miopenHandle_t handle, const void *alpha, const void *beta,
                         const void *x_desc, const void *w_desc, const void *conv_desc, const void *y_desc,
                         const void *in0, const void *in1, void *out)
{
    if(!__atomic_load_n(&boo_fast.enabled, __ATOMIC_RELAXED) || boo_fast.owner != getpid())
        return BOO_FAST_MISS; /* (a forked child shares no zmq context with its parent) */
    if(alpha == NULL || beta == NULL || in0 == NULL || in1 == NULL || out == NULL ||
       *(const float *)alpha != 1.0f || *(const float *)beta != 0.0f)
        return BOO_FAST_MISS;
    boo_fast_entry entry;
    char endpoint[sizeof(boo_fast.endpoint)];
    uint64_t generation;
    pid_t daemon_pid;
    long timeout_ms;
    void *ctx;
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
    if(e != NULL)
    {
        entry = *e;
        strcpy(endpoint, boo_fast.endpoint);
        generation = boo_fast.generation;
        daemon_pid = boo_fast.daemon_pid;
        timeout_ms = boo_fast.timeout_ms;
        ctx = boo_fast.ctx;
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
    }
    void *sock = boo_fast_socket(t, generation, endpoint, ctx);
    if(sock == NULL)
        return BOO_FAST_MISS;

    uint64_t request_id = ++t->next_id;
    boo_zmq_msg_t msg;
    if(boo_zmq.msg_init_size(&msg, 24 + entry.in_nbytes[0] + entry.in_nbytes[1]) != 0)
        return BOO_FAST_MISS;
    unsigned char *p = boo_zmq.msg_data(&msg);
    memcpy(p, "BOOc", 4);
    p[4] = 1; /* protocol version */
    p[5] = 1; /* kind: call */
    p[6] = p[7] = 0;
    memcpy(p + 8, &request_id, 8);
    memcpy(p + 16, &entry.plan_id, 8);
    memcpy(p + 24, in0, entry.in_nbytes[0]);
    memcpy(p + 24 + entry.in_nbytes[0], in1, entry.in_nbytes[1]);
    double t0 = boo_fast_now_ms();
    if(boo_zmq.msg_send(&msg, sock, BOO_ZMQ_DONTWAIT) < 0) /* never block on a full or peerless pipe */
    {
        boo_zmq.msg_close(&msg);
        boo_fast_drop_socket(t);
        return BOO_FAST_MISS; /* nothing went out */
    }

    /* Wait in slices, checking that the daemon process still lives: a dead one means the
     * Python path (which tells a dead daemon at once and falls back). */
    int status = BOO_FAST_FAILED;
    double deadline = t0 + (double)timeout_ms;
    for(;;)
    {
        boo_zmq_pollitem_t item = {sock, 0, BOO_ZMQ_POLLIN, 0};
        double left = deadline - boo_fast_now_ms();
        if(left <= 0)
            break;
        int rc = boo_zmq.poll(&item, 1, left < 100 ? (long)left + 1 : 100);
        if(rc < 0 && errno != EINTR)
            break;
        if(rc > 0 && (item.revents & BOO_ZMQ_POLLIN))
        {
            boo_zmq_msg_t reply;
            double kernel_ms = 0;
            boo_zmq.msg_init(&reply);
            if(boo_zmq.msg_recv(&reply, sock, 0) >= 0 &&
               boo_fast_take_reply(&reply, request_id, out, entry.out_nbytes, &kernel_ms) == 0)
                status = BOO_FAST_DONE;
            boo_zmq.msg_close(&reply);
            break;
        }
        if(!boo_daemon_alive(daemon_pid))
            break;
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
     * none: forget the entry and the socket; the Python path takes it from here. */
    boo_fast_drop_socket(t);
    __atomic_add_fetch(&boo_fast_failed, 1, __ATOMIC_RELAXED);
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
