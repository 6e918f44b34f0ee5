# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled core: the whole pipeline of ``pipeline`` on C arrays, step by step.

Each method of ``Core`` is one step of the pure-Python modules (``layout``, ``rooms``,
``connect``/``corridors``, ``doors``, ``keys``/``graph``, ``enemies``, ``validate``/
``grid``/``reachability``, ``scene_graph``, ``minimap``, ``export``), rewritten on C
arrays with the same draws in the same order, so every artifact is the same bytes (the
side-by-side tests in ``tests/generation/test_compiled.py`` compare them). The step
generators are MT19937 written out (``MT``), seeded exactly as ``random.Random(int)``
seeds itself from the step's BLAKE2b digest (``seeding.step_random``), and ``rnd`` is
``random.random()``: two 32-bit draws made one double.

Anything the pure steps would do differently (a check of ``validate`` failing, hence a
second attempt; a spec off the usual types; an error) raises ``Fallback``, and the caller
runs the pure-Python pipeline instead: the compiled core only ever takes the way on which
it gives the same bytes.

A designed level (CONTRACT §4.1) is planned and built by Python steps (``design``,
``contents``); ``Core.load_blueprint`` puts what they built on the arrays, and the checks,
the scene graph, the minimap and the exports run here as for any level. While those
steps run, their dice are this module's (``step_dice``: the same draws) and the parts
that cost most run here too, each the same result from the same draws as the Python
function it stands for (``connect.COMPILED``, set around each step): the layout and its
contacts (``plan_layout``, ``find_contacts``), the plan's copies, backbone, tree and
loops (``assign_copies``, ``plan_backbone``, ``plan_tree``, ``plan_loops``), the rooms
(``carve_designed``), the corridors kept apart (``route_apart``, ``free_tiles``,
``fewest_turns``), the doors (``place_doors``) and the contents (``place_designed_keys``,
``place_designed_enemies``). The Python functions stay the reference: the pure pipeline
runs them, and the tests compare the two.
"""

from libc.stdint cimport uint32_t
from libc.stdlib cimport qsort
from libc.string cimport memset, memcpy, strlen
from libc.math cimport rint
from cpython.mem cimport PyMem_Malloc, PyMem_Calloc, PyMem_Realloc, PyMem_Free
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.tuple cimport PyTuple_Check, PyTuple_GET_ITEM, PyTuple_GET_SIZE

import hashlib
import re

from levelforge.generation.enemies import BESTIARY
from levelforge.generation.export import svg as _svg
from levelforge.generation.export import tiled as _tiled


class Fallback(Exception):
    """The compiled core cannot give this level the pure pipeline's bytes: run that."""


# ---------------------------------------------------------------- MT19937, as CPython's

cdef enum:
    MT_N = 624
    MT_M = 397

cdef struct MT:
    uint32_t s[624]
    int i


cdef uint32_t MT_BASE[624]
"""``init_genrand(19650218)``, where every ``init_by_array`` starts: the same for every
key, so worked out once (a third of seeding a generator)."""


cdef void mt_base() noexcept nogil:
    cdef int i
    MT_BASE[0] = <uint32_t>19650218
    for i in range(1, MT_N):
        MT_BASE[i] = <uint32_t>(<uint32_t>1812433253 * (MT_BASE[i - 1] ^ (MT_BASE[i - 1] >> 30)) + <uint32_t>i)


mt_base()


cdef void mt_init(MT* m, uint32_t* key, int keylen) noexcept nogil:
    """``init_by_array`` (CPython's ``random_seed`` for an int)."""
    cdef uint32_t* mt = m.s
    cdef int i, j, k
    memcpy(mt, MT_BASE, MT_N * sizeof(uint32_t))
    i = 1
    j = 0
    k = MT_N if MT_N > keylen else keylen
    while k:
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * <uint32_t>1664525)) + key[j] + <uint32_t>j
        i += 1
        j += 1
        if i >= MT_N:
            mt[0] = mt[MT_N - 1]
            i = 1
        if j >= keylen:
            j = 0
        k -= 1
    k = MT_N - 1
    while k:
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * <uint32_t>1566083941)) - <uint32_t>i
        i += 1
        if i >= MT_N:
            mt[0] = mt[MT_N - 1]
            i = 1
        k -= 1
    mt[0] = <uint32_t>0x80000000
    m.i = MT_N


cdef inline uint32_t mt_next(MT* m) noexcept nogil:
    cdef uint32_t y
    cdef int kk
    cdef uint32_t* mt = m.s
    if m.i >= MT_N:
        for kk in range(MT_N - MT_M):
            y = (mt[kk] & <uint32_t>0x80000000) | (mt[kk + 1] & <uint32_t>0x7fffffff)
            mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ (<uint32_t>0x9908b0df if (y & 1) else <uint32_t>0)
        for kk in range(MT_N - MT_M, MT_N - 1):
            y = (mt[kk] & <uint32_t>0x80000000) | (mt[kk + 1] & <uint32_t>0x7fffffff)
            mt[kk] = mt[kk + MT_M - MT_N] ^ (y >> 1) ^ (<uint32_t>0x9908b0df if (y & 1) else <uint32_t>0)
        y = (mt[MT_N - 1] & <uint32_t>0x80000000) | (mt[0] & <uint32_t>0x7fffffff)
        mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ (<uint32_t>0x9908b0df if (y & 1) else <uint32_t>0)
        m.i = 0
    y = mt[m.i]
    m.i += 1
    y ^= y >> 11
    y ^= (y << 7) & <uint32_t>0x9d2c5680
    y ^= (y << 15) & <uint32_t>0xefc60000
    y ^= y >> 18
    return y


cdef inline double mt_random(MT* m) noexcept nogil:
    """``random.random()``: 53 random bits from two draws."""
    cdef uint32_t a = mt_next(m) >> 5
    cdef uint32_t b = mt_next(m) >> 6
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)


cdef void mt_seed_digest(MT* m, bytes digest):
    """Seed as ``random.Random(int.from_bytes(digest, "big"))`` does (16 bytes)."""
    cdef const unsigned char* d = <const unsigned char*>PyBytes_AS_STRING(digest)
    cdef uint32_t key[4]
    cdef int w, used = 1
    for w in range(4):
        key[w] = ((<uint32_t>d[12 - 4 * w] << 24) | (<uint32_t>d[13 - 4 * w] << 16)
                  | (<uint32_t>d[14 - 4 * w] << 8) | <uint32_t>d[15 - 4 * w])
        if key[w]:
            used = w + 1
    mt_init(m, key, used)


def random_sequence(object seed, int count):
    """``count`` draws of ``random.Random(seed).random()`` made by this module's MT19937
    (``seed`` an int from 0 to 2**128 - 1): for the test that proves the generator equal
    to CPython's."""
    cdef MT m
    mt_seed_digest(&m, int(seed).to_bytes(16, "big"))
    return [mt_random(&m) for _ in range(count)]


cdef class Dice:
    """``seeding.Dice`` on this module's MT19937: ``step_dice``'s dice, the same draws from
    the same seed, made in C (no ``random.Random`` to build, no Python frame a draw). The
    designed steps draw from these on the compiled pipeline."""

    cdef MT mt

    def __cinit__(self, bytes digest):
        mt_seed_digest(&self.mt, digest)

    def random(self):
        return mt_random(&self.mt)

    def between(self, long long low, long long high):
        return low + <long long>(mt_random(&self.mt) * <double>(high - low + 1))

    def below(self, long long count):
        return <long long>(mt_random(&self.mt) * <double>count)

    def chance(self, double probability):
        return mt_random(&self.mt) < probability


def step_dice(object seed, int attempt, str step):
    """``seeding.step_dice``: the dice of ``step`` for the given seed and attempt."""
    digest = hashlib.blake2b(f"levelforge:{seed}:{attempt}:{step}".encode(), digest_size=16).digest()
    return Dice(digest)


# ---------------------------------------------------------------- small C containers

cdef struct IVec:
    int* d
    Py_ssize_t n
    Py_ssize_t cap


cdef int iv_reserve(IVec* v, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef int* grown
    if v.n + extra <= v.cap:
        return 0
    cap = v.cap * 2 if v.cap else 64
    while cap < v.n + extra:
        cap *= 2
    grown = <int*>PyMem_Realloc(v.d, cap * sizeof(int))
    if grown == NULL:
        raise MemoryError()
    v.d = grown
    v.cap = cap
    return 0


cdef inline int iv_push(IVec* v, int x) except -1:
    if v.n >= v.cap:
        iv_reserve(v, 1)
    v.d[v.n] = x
    v.n += 1
    return 0


cdef inline int iv_push2(IVec* v, int x, int y) except -1:
    if v.n + 2 > v.cap:
        iv_reserve(v, 2)
    v.d[v.n] = x
    v.d[v.n + 1] = y
    v.n += 2
    return 0


cdef void iv_free(IVec* v) noexcept:
    PyMem_Free(v.d)
    v.d = NULL
    v.n = v.cap = 0


cdef struct Buf:
    char* d
    Py_ssize_t n
    Py_ssize_t cap


cdef int buf_reserve(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef char* grown
    if b.n + extra <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 4096
    while cap < b.n + extra:
        cap *= 2
    grown = <char*>PyMem_Realloc(b.d, cap)
    if grown == NULL:
        raise MemoryError()
    b.d = grown
    b.cap = cap
    return 0


cdef inline int put(Buf* b, const char* s, Py_ssize_t n) except -1:
    if b.n + n > b.cap:
        buf_reserve(b, n)
    memcpy(b.d + b.n, s, n)
    b.n += n
    return 0


cdef inline int puts(Buf* b, const char* s) except -1:
    return put(b, s, strlen(s))


cdef inline int putc(Buf* b, char c) except -1:
    if b.n + 1 > b.cap:
        buf_reserve(b, 1)
    b.d[b.n] = c
    b.n += 1
    return 0


cdef int puti(Buf* b, long long v) except -1:
    cdef char tmp[24]
    cdef int k = 0
    cdef unsigned long long u
    if v < 0:
        putc(b, b'-')
        u = <unsigned long long>(-(v + 1)) + 1
    else:
        u = <unsigned long long>v
    while True:
        tmp[k] = <char>(48 + u % 10)
        k += 1
        u //= 10
        if u == 0:
            break
    if b.n + k > b.cap:
        buf_reserve(b, k)
    while k:
        k -= 1
        b.d[b.n] = tmp[k]
        b.n += 1
    return 0


cdef inline int put_id(Buf* b, char prefix, long long v) except -1:
    """``"r3"``: a quoted id."""
    putc(b, b'"')
    putc(b, prefix)
    puti(b, v)
    return putc(b, b'"')


cdef int put_pos(Buf* b, int x, int y) except -1:
    puts(b, b'{"x":')
    puti(b, x)
    puts(b, b',"y":')
    puti(b, y)
    return putc(b, b'}')


cdef bytes buf_bytes(Buf* b):
    return PyBytes_FromStringAndSize(b.d, b.n)


# ---------------------------------------------------------------- helpers

cdef inline object field(object record, Py_ssize_t i):
    """Field ``i`` of a named tuple (``blueprint``'s records), read as a tuple's item. An
    index into a tuple subclass otherwise goes through the subclass's ``__getitem__`` slot
    wrapper: ten times slower."""
    return <object>PyTuple_GET_ITEM(record, i)


cdef inline int index_in(long long value, long long count) except -1:
    """``ValueError`` unless ``0 <= value < count``: a room or corridor number from the
    Python steps checked before it indexes a C array."""
    if not 0 <= value < count:
        raise ValueError(f"{value} is not a number below {count}")
    return 0


cdef int numbered(object rooms) except -1:
    """``ValueError`` unless every room's number is its place (as the steps make them)."""
    cdef Py_ssize_t i
    for i in range(len(rooms)):
        fields(rooms[i], 4)
        if field(rooms[i], 0) != i:
            raise ValueError(f"room {i} numbered {field(rooms[i], 0)}")
    return 0


cdef inline int fields(object value, Py_ssize_t size) except -1:
    """``TypeError`` unless ``value`` is a tuple (a named tuple) of ``size`` fields, as
    unpacking it would check, before ``field`` reads them."""
    if not PyTuple_Check(value) or PyTuple_GET_SIZE(value) != size:
        raise TypeError(f"not a record of {size} fields: {value!r}")
    return 0


cdef inline int fdiv(int a, int b) noexcept nogil:
    """Python's ``a // b`` (floor) for ``b > 0``."""
    cdef int q = a / b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline int cdiv(int a, int b) noexcept nogil:
    """``-(-a // b)``: the ceiling."""
    return -fdiv(-a, b)


cdef inline int imin(int a, int b) noexcept nogil:
    return a if a < b else b


cdef inline int imax(int a, int b) noexcept nogil:
    return a if a > b else b


cdef inline int iabs(int a) noexcept nogil:
    return -a if a < 0 else a


cdef struct Key3:
    int k1
    int k2
    int index


cdef int cmp_key3(const void* pa, const void* pb) noexcept nogil:
    cdef const Key3* a = <const Key3*>pa
    cdef const Key3* b = <const Key3*>pb
    if a.k1 != b.k1:
        return -1 if a.k1 < b.k1 else 1
    if a.k2 != b.k2:
        return -1 if a.k2 < b.k2 else 1
    return (a.index > b.index) - (a.index < b.index)


cdef struct KeyD:
    double k
    int index


cdef int cmp_keyd(const void* pa, const void* pb) noexcept nogil:
    cdef const KeyD* a = <const KeyD*>pa
    cdef const KeyD* b = <const KeyD*>pb
    if a.k != b.k:
        return -1 if a.k < b.k else 1
    return (a.index > b.index) - (a.index < b.index)


cdef enum:
    DUNGEON = 0
    CRYPT = 1
    CAVE = 2
    ROCK = 0
    WALL = 1
    FLOOR = 2
    CORRIDOR = 3
    DOOR = 4
    MIN_SPAN = 6
    MAX_SIDE = 24
    CRYPT_MAX_SIDE = 9
    TILE = 16

THEMES = ("dungeon", "crypt", "cave")

cdef list _KINDS = [[kind.encode() for kind in BESTIARY[theme][0]] + [BESTIARY[theme][1].encode()]
                    for theme in THEMES]
cdef list _KIND_INDEX = [{kind: k for k, kind in enumerate((*BESTIARY[theme][0], BESTIARY[theme][1]))}
                         for theme in THEMES]
"""Per theme: the index of each enemy type in ``_KIND_NAMES``."""
_PREFAB_NAME = re.compile(r"[a-z0-9_-]{1,32}")
"""A prefab's name as the spec allows it (CONTRACT §4.1): nothing to escape in JSON or XML."""


def _pieces(template, int count):
    """A ``%``-template of ``tiled`` split at its ``count`` placeholders, as bytes."""
    parts = re.split("%[ds]", template)
    if len(parts) != count + 1:
        raise AssertionError(f"template with {len(parts) - 1} placeholders, not {count}")
    return [part.replace("%%", "%").encode() for part in parts]


cdef struct Piece:
    const char* s
    Py_ssize_t n


cdef list _KEPT = []
"""The bytes that the C arrays of pieces and names below point into, kept alive."""


cdef int _fill(Piece* out, list parts) except -1:
    _KEPT.append(parts)
    for i, part in enumerate(parts):
        out[i].s = PyBytes_AS_STRING(part)
        out[i].n = PyBytes_GET_SIZE(part)
    return 0


cdef Piece _DOOR[8]
cdef Piece _ITEM[8]
cdef Piece _OPENS[2]
cdef Piece _ENEMY[9]
cdef Piece _PLACE[7]
cdef Piece _KIND_NAMES[18]
"""Per theme (6 apart): the common enemy types from weakest to strongest, then the boss."""
_fill(_DOOR, _pieces(_tiled._DOOR, 7))
_fill(_ITEM, _pieces(_tiled._ITEM, 7))
_fill(_OPENS, _pieces(_tiled._OPENS, 1))
_fill(_ENEMY, _pieces(_tiled._ENEMY, 8))
_fill(_PLACE, _pieces(_tiled._PLACE, 6))
cdef int _theme
for _theme in range(3):
    _fill(_KIND_NAMES + 6 * _theme, _KINDS[_theme])
cdef bytes _MIDDLE = _tiled._MIDDLE
cdef bytes _TAIL = _tiled._TAIL
cdef bytes _WALL = _svg.WALL.encode()
cdef bytes _ROOM = _svg.ROOM.encode()
cdef bytes _CORRIDOR = _svg.CORRIDOR.encode()
cdef bytes _DOOR_OPEN = _svg.DOOR_OPEN.encode()
cdef bytes _DOOR_LOCKED = _svg.DOOR_LOCKED.encode()
cdef bytes _KEY = _svg.KEY.encode()
cdef bytes _TREASURE = _svg.TREASURE.encode()
cdef bytes _INK = _svg.INK.encode()
cdef bytes _BOSS = _svg.BOSS.encode()
cdef bytes _ENTRANCE = _svg.ENTRANCE.encode()
cdef bytes _EXIT = _svg.EXIT.encode()
cdef bytes _ENEMY_COLOURS = b"".join(colour.encode() + b"\0" for colour in _svg.ENEMY_LEVELS)


cdef inline int put_piece(Buf* b, Piece* pieces, int k) except -1:
    return put(b, pieces[k].s, pieces[k].n)


cdef inline int put_bytes(Buf* b, bytes data) except -1:
    return put(b, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


# ---------------------------------------------------------------- the core

cdef class Core:
    """One level on C arrays, built one step (method) at a time, in pipeline order."""

    # spec
    cdef int W, H, N, difficulty, theme
    cdef double loops
    cdef long long seed
    cdef object seed_obj, spec_json
    cdef MT mt
    # layout and rooms
    cdef int* rx0
    cdef int* ry0
    cdef int* rx1
    cdef int* ry1
    cdef int* fx0
    cdef int* fy0
    cdef int* fx1
    cdef int* fy1
    cdef int* span_off
    cdef int* area
    cdef IVec spans
    # connections
    cdef IVec contacts     # a, b, vertical, line
    cdef IVec corr         # a, b, dax, day, dbx, dby, loop, route, tile offset, tile count
    cdef IVec tiles        # x, y
    cdef int ntree, nloops, npossible
    # doors, keys, enemies
    cdef IVec doors        # x, y, room, corridor, key
    cdef int* door_at      # per tile: door index + 1
    cdef unsigned char* taken
    cdef int* taken_count
    cdef int* link_off
    cdef int* link_room
    cdef int* link_corr
    cdef int* order
    cdef int* parent
    cdef int* pcorr
    cdef int* seen
    cdef int stamp
    cdef int* distance
    cdef int* door_off     # doors by room (CSR)
    cdef int* door_list
    cdef int entrance, exit_room, ex, ey, xx, xy
    cdef IVec critical
    cdef IVec critical_corr
    cdef IVec keys         # room, x, y, opens offset, opens count
    cdef IVec opens
    cdef IVec enemies      # kind, level, room, x, y, boss
    cdef IVec treasures    # room, x, y
    # grid and artifacts
    cdef unsigned char* cells
    cdef int stride
    cdef bytes sg_json
    cdef bytes minimap_bytes
    cdef object minimap_text
    cdef int locked_doors, path_tiles
    # a blueprint built in Python (``load_blueprint``): a designed level
    cdef int attempt
    cdef bint designed
    cdef list prefab_tags

    def __cinit__(self):
        self.rx0 = NULL
        self.attempt = 1

    def __init__(self, spec, str spec_json):
        self.seed_obj = spec["seed"]
        self.seed = spec["seed"]
        self.W = spec["width"]
        self.H = spec["height"]
        self.N = spec["rooms"]
        self.difficulty = spec["difficulty"]
        self.theme = THEMES.index(spec["theme"])
        self.loops = spec["loops"]
        self.spec_json = spec_json
        if self.N < 1 or self.W < 3 or self.H < 3:
            raise Fallback("spec out of range")
        cdef int n = self.N, tiles_count = self.W * self.H
        self.rx0 = self.ints(2 * n + 2)
        self.ry0 = self.ints(2 * n + 2)
        self.rx1 = self.ints(2 * n + 2)
        self.ry1 = self.ints(2 * n + 2)
        self.fx0 = self.ints(n)
        self.fy0 = self.ints(n)
        self.fx1 = self.ints(n)
        self.fy1 = self.ints(n)
        self.span_off = self.ints(n)
        self.area = self.ints(n)
        self.door_at = self.ints(tiles_count)
        self.taken = <unsigned char*>PyMem_Calloc(tiles_count, 1)
        self.taken_count = self.ints(n)
        self.order = self.ints(n)
        self.parent = self.ints(n)
        self.pcorr = self.ints(n)
        self.seen = self.ints(n)
        self.distance = self.ints(n)
        self.stride = self.W + 1
        self.cells = <unsigned char*>PyMem_Calloc((self.H + 2) * self.stride, 1)
        if self.taken == NULL or self.cells == NULL:
            raise MemoryError()

    cdef int* ints(self, Py_ssize_t count) except NULL:
        cdef int* p = <int*>PyMem_Calloc(count if count > 0 else 1, sizeof(int))
        if p == NULL:
            raise MemoryError()
        return p

    def __dealloc__(self):
        PyMem_Free(self.rx0)
        PyMem_Free(self.ry0)
        PyMem_Free(self.rx1)
        PyMem_Free(self.ry1)
        PyMem_Free(self.fx0)
        PyMem_Free(self.fy0)
        PyMem_Free(self.fx1)
        PyMem_Free(self.fy1)
        PyMem_Free(self.span_off)
        PyMem_Free(self.area)
        PyMem_Free(self.door_at)
        PyMem_Free(self.taken_count)
        PyMem_Free(self.order)
        PyMem_Free(self.parent)
        PyMem_Free(self.pcorr)
        PyMem_Free(self.seen)
        PyMem_Free(self.distance)
        PyMem_Free(self.link_off)
        PyMem_Free(self.link_room)
        PyMem_Free(self.link_corr)
        PyMem_Free(self.door_off)
        PyMem_Free(self.door_list)
        PyMem_Free(self.taken)
        PyMem_Free(self.cells)
        iv_free(&self.spans)
        iv_free(&self.contacts)
        iv_free(&self.corr)
        iv_free(&self.tiles)
        iv_free(&self.doors)
        iv_free(&self.critical)
        iv_free(&self.critical_corr)
        iv_free(&self.keys)
        iv_free(&self.opens)
        iv_free(&self.enemies)
        iv_free(&self.treasures)

    cdef void dice(self, str step):
        digest = hashlib.blake2b(f"levelforge:{self.seed_obj}:1:{step}".encode(), digest_size=16).digest()
        mt_seed_digest(&self.mt, digest)

    cdef inline double rnd(self) noexcept:
        return mt_random(&self.mt)

    cdef inline int between(self, int low, int high) noexcept:
        return low + <int>(mt_random(&self.mt) * (high - low + 1))

    cdef inline int below(self, int count) noexcept:
        return <int>(mt_random(&self.mt) * count)

    # ------------------------------------------------------------ plan_layout

    cdef inline int fit(self, int low, int high, int size) noexcept:
        return fdiv(high - low + (low == 0) + (high == size - 1), MIN_SPAN)

    cdef int cut(self, int low, int high, int size, int cross, int n, int* line_out) except -1:
        if cross <= 0 or n < 2:
            raise Fallback("a region that cannot be split")
        cdef int slots = self.fit(low, high, size)
        cdef int n1 = imin(imax(<int>rint(n * (0.35 + 0.3 * self.rnd())), 1), n - 1)
        cdef int columns, first, last, target, jitter, line
        if cdiv(n1, cross) + cdiv(n - n1, cross) > slots:
            columns = cdiv(n, cross)
            n1 = cross * imin(imax(<int>rint(columns * (0.35 + 0.3 * self.rnd())), 1), columns - 1)
        first = low + MIN_SPAN * cdiv(n1, cross) - (low == 0)
        last = high - MIN_SPAN * cdiv(n - n1, cross) + (high == size - 1)
        target = low + fdiv((high - low) * n1, n)
        jitter = fdiv(last - first, 6)
        line = target - jitter + <int>(self.rnd() * (2 * jitter + 1))
        line_out[0] = imin(imax(line, first), last)
        return n1

    def plan_layout(self):
        cdef int W = self.W, H = self.H, n = self.N
        if self.fit(0, W - 1, W) * self.fit(0, H - 1, H) < n:
            raise Fallback("the regions do not fit")
        self.dice("plan_layout")
        # pending stack after the regions' final slots: regions fill from 0, pending from the top
        cdef int cap = 2 * n + 2, top = cap, done = 0, count, x0, y0, x1, y1, ax, ay, w, h, n1, line
        cdef int* pn = self.ints(cap)
        try:
            top -= 1
            self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top] = 0, 0, W - 1, H - 1, n
            while top < cap:
                x0, y0, x1, y1, count = self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top]
                top += 1
                if count == 1:
                    if done >= top:
                        raise Fallback("layout stack")
                    self.rx0[done], self.ry0[done], self.rx1[done], self.ry1[done] = x0, y0, x1, y1
                    done += 1
                    continue
                if top - 2 < done + 1:
                    raise Fallback("layout stack")
                ax = self.fit(x0, x1, W)
                ay = self.fit(y0, y1, H)
                w = x1 - x0 + 1
                h = y1 - y0 + 1
                # pushed first, second: the second is popped next
                if ax >= 2 and (ay < 2 or self.rnd() < <double>(w * w) / <double>(w * w + h * h)):
                    n1 = self.cut(x0, x1, W, ay, count, &line)
                    top -= 1
                    self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top] = x0, y0, line, y1, n1
                    top -= 1
                    self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top] = line, y0, x1, y1, count - n1
                else:
                    n1 = self.cut(y0, y1, H, ax, count, &line)
                    top -= 1
                    self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top] = x0, y0, x1, line, n1
                    top -= 1
                    self.rx0[top], self.ry0[top], self.rx1[top], self.ry1[top], pn[top] = x0, line, x1, y1, count - n1
        finally:
            PyMem_Free(pn)
        if done != n:
            raise Fallback("region count")
        self.sort_regions()
        return f"Split {W}x{H} into {n} regions"

    cdef int sort_regions(self) except -1:
        cdef int n = self.N, i
        cdef Key3* keys = <Key3*>PyMem_Malloc(n * sizeof(Key3))
        cdef int* copy = self.ints(4 * n)
        if keys == NULL:
            raise MemoryError()
        for i in range(n):
            keys[i].k1, keys[i].k2, keys[i].index = self.ry0[i], self.rx0[i], i
            copy[4 * i], copy[4 * i + 1], copy[4 * i + 2], copy[4 * i + 3] = (
                self.rx0[i], self.ry0[i], self.rx1[i], self.ry1[i])
        qsort(keys, n, sizeof(Key3), cmp_key3)
        for i in range(n):
            self.rx0[i] = copy[4 * keys[i].index]
            self.ry0[i] = copy[4 * keys[i].index + 1]
            self.rx1[i] = copy[4 * keys[i].index + 2]
            self.ry1[i] = copy[4 * keys[i].index + 3]
        PyMem_Free(keys)
        PyMem_Free(copy)
        return 0

    # ------------------------------------------------------------ carve_rooms

    cdef int length(self, int room) noexcept:
        cdef int longest, shortest
        if self.theme == CRYPT:
            return 3 + <int>(self.rnd() * (imax(3, imin(fdiv(room * 3, 5), CRYPT_MAX_SIDE)) - 2))
        longest = imin(room, MAX_SIDE)
        shortest = imin(imax(3, fdiv(room * 3, 5)), longest)
        return shortest + <int>(self.rnd() * (longest - shortest + 1))

    cdef int span(self, int low, int high, int size, int* end) noexcept:
        cdef int first = low + (1 if low == 0 else 2)
        cdef int last = high - (1 if high == size - 1 else 2)
        cdef int length = self.length(last - first + 1)
        cdef int start = first + <int>(self.rnd() * (last - length + 2 - first))
        end[0] = start + length - 1
        return start

    def carve_rooms(self):
        self.dice("carve_rooms")
        cdef int i, x1, y1, caverns = 0, smallest = 0, best = -1, a
        for i in range(self.N):
            self.fx0[i] = self.span(self.rx0[i], self.rx1[i], self.W, &x1)
            self.fx1[i] = x1
            self.fy0[i] = self.span(self.ry0[i], self.ry1[i], self.H, &y1)
            self.fy1[i] = y1
            self.span_off[i] = -1
            self.area[i] = (self.fx1[i] - self.fx0[i] + 1) * (self.fy1[i] - self.fy0[i] + 1)
            if self.theme == CAVE:
                self.cavern(i)
            if self.span_off[i] >= 0:
                caverns += 1
            a = (self.fx1[i] - self.fx0[i] + 1) * (self.fy1[i] - self.fy0[i] + 1)
            if best < 0 or a < best:
                best, smallest = a, i
        return (f"Carved {self.N} rooms ({caverns} caverns), the smallest "
                f"{self.fx1[smallest] - self.fx0[smallest] + 1}x{self.fy1[smallest] - self.fy0[smallest] + 1}")

    cdef int cavern(self, int i) except -1:
        cdef int x0 = self.fx0[i], y0 = self.fy0[i], x1 = self.fx1[i], y1 = self.fy1[i]
        cdef int w = x1 - x0 + 1, h = y1 - y0 + 1, band, top, y, first, last, base, total = 0
        if w < 5 or h < 4:
            self.area[i] = w * h
            return 0
        band = imax(3, fdiv(h * 2, 5))
        top = self.between(y0, y1 - band + 1)
        base = <int>(self.spans.n // 2)
        iv_reserve(&self.spans, 2 * h)
        self.spans.n += 2 * h
        for y in range(top, top + band):
            self.spans.d[2 * (base + y - y0)] = x0
            self.spans.d[2 * (base + y - y0) + 1] = x1
        first, last = x0, x1
        y = top - 1
        while y > y0 - 1:
            self.narrow(&first, &last, y == y0 or y == y1)
            self.spans.d[2 * (base + y - y0)] = first
            self.spans.d[2 * (base + y - y0) + 1] = last
            y -= 1
        first, last = x0, x1
        for y in range(top + band, y1 + 1):
            self.narrow(&first, &last, y == y0 or y == y1)
            self.spans.d[2 * (base + y - y0)] = first
            self.spans.d[2 * (base + y - y0) + 1] = last
        for y in range(h):
            total += self.spans.d[2 * (base + y) + 1] - self.spans.d[2 * (base + y)] + 1
        self.span_off[i] = base
        self.area[i] = total
        return 0

    cdef void narrow(self, int* first, int* last, bint outermost) noexcept:
        cdef int room = last[0] - first[0]
        cdef int cut_first = imin(self.below(3), fdiv(room, 2))
        cdef int cut_last = imin(self.below(3), room - cut_first)
        if outermost and cut_first + cut_last == 0 and room:
            cut_first = 1
        first[0] += cut_first
        last[0] -= cut_last

    cdef inline int row_first(self, int room, int y) noexcept:
        if self.span_off[room] < 0:
            return self.fx0[room]
        return self.spans.d[2 * (self.span_off[room] + y - self.fy0[room])]

    cdef inline int row_last(self, int room, int y) noexcept:
        if self.span_off[room] < 0:
            return self.fx1[room]
        return self.spans.d[2 * (self.span_off[room] + y - self.fy0[room]) + 1]

    # ------------------------------------------------------------ connect_rooms

    cdef int find_contacts(self) except -1:
        cdef int n = self.N, i, k, lo, hi, mid, j, low, high, key
        cdef Key3* by_x = <Key3*>PyMem_Malloc(n * sizeof(Key3))
        if by_x == NULL:
            raise MemoryError()
        for i in range(n):
            by_x[i].k1, by_x[i].k2, by_x[i].index = self.rx0[i], self.ry0[i], i
        qsort(by_x, n, sizeof(Key3), cmp_key3)
        try:
            for i in range(n):
                # regions starting on the vertical line x1, by y0
                key = self.rx1[i]
                lo, hi = 0, n
                while lo < hi:
                    mid = (lo + hi) // 2
                    if by_x[mid].k1 < key:
                        lo = mid + 1
                    else:
                        hi = mid
                low, high = self.ry0[i], self.ry1[i]
                k = lo
                while k < n and by_x[k].k1 == key:
                    j = by_x[k].index
                    if self.ry0[j] > high - 2:
                        break
                    if imin(high, self.ry1[j]) - imax(low, self.ry0[j]) >= 2:
                        iv_push2(&self.contacts, i, j)
                        iv_push2(&self.contacts, 1, key)
                    k += 1
                # regions starting on the horizontal line y1: sorted by (y0, x0) already
                key = self.ry1[i]
                lo, hi = 0, n
                while lo < hi:
                    mid = (lo + hi) // 2
                    if self.ry0[mid] < key:
                        lo = mid + 1
                    else:
                        hi = mid
                low, high = self.rx0[i], self.rx1[i]
                k = lo
                while k < n and self.ry0[k] == key:
                    if self.rx0[k] > high - 2:
                        break
                    if imin(high, self.rx1[k]) - imax(low, self.rx0[k]) >= 2:
                        iv_push2(&self.contacts, i, k)
                        iv_push2(&self.contacts, 0, key)
                    k += 1
        finally:
            PyMem_Free(by_x)
        return 0

    def connect_rooms(self):
        self.dice("connect_rooms")
        self.find_contacts()
        cdef int count = <int>(self.contacts.n // 4), n = self.N, i, j, t, ra, rb, node, wanted
        cdef int* c = self.contacts.d
        # Fisher-Yates
        i = count - 1
        while i > 0:
            j = <int>(self.rnd() * (i + 1))
            for t in range(4):
                c[4 * i + t], c[4 * j + t] = c[4 * j + t], c[4 * i + t]
            i -= 1
        # Kruskal: tree contacts first, then the spare ones, in their order
        cdef int* parent = self.ints(n)
        cdef int* tree = self.ints(count)
        cdef int* spare = self.ints(count)
        cdef int ntree = 0, nspare = 0, nchosen = 0
        cdef int* chosen = NULL
        try:
            for i in range(n):
                parent[i] = i
            for i in range(count):
                node = c[4 * i]
                while parent[node] != node:
                    parent[node] = parent[parent[node]]
                    node = parent[node]
                ra = node
                node = c[4 * i + 1]
                while parent[node] != node:
                    parent[node] = parent[parent[node]]
                    node = parent[node]
                rb = node
                if ra == rb:
                    spare[nspare] = i
                    nspare += 1
                else:
                    parent[ra] = rb
                    tree[ntree] = i
                    ntree += 1
            wanted = imin(<int>rint(self.loops * n), nspare)
            chosen = self.ints(nspare)
            nchosen = self.loop_contacts(tree, ntree, spare, nspare, wanted, chosen)
            self.ntree, self.nloops, self.npossible = ntree, nchosen, nspare
            self.route_all(tree, ntree, spare, chosen, nchosen)
        finally:
            PyMem_Free(parent)
            PyMem_Free(tree)
            PyMem_Free(spare)
            PyMem_Free(chosen)
        return f"Connected {n} rooms with {ntree + nchosen} corridors ({nchosen} loops)"

    cdef int loop_contacts(self, int* tree, int ntree, int* spare, int nspare, int wanted,
                           int* chosen) except -1:
        """``_loop_contacts``: fills ``chosen`` (spare positions, ascending); their count."""
        if wanted <= 0:
            return 0
        cdef int n = self.N, i, a, b, steps, head, room, k, nchosen = 0
        cdef int* c = self.contacts.d
        cdef int* off = self.ints(n + 1)
        cdef int* fill = self.ints(n + 1)
        cdef int* adj = self.ints(2 * ntree)
        cdef int* depth = self.ints(n)
        cdef int* up = self.ints(n)
        cdef int* queue = self.ints(n)
        cdef unsigned char* used = <unsigned char*>PyMem_Calloc(n + nspare + 1, 1)
        cdef Key3* ranked = <Key3*>PyMem_Malloc((nspare + 1) * sizeof(Key3))
        try:
            if used == NULL or ranked == NULL:
                raise MemoryError()
            for i in range(ntree):
                off[c[4 * tree[i]] + 1] += 1
                off[c[4 * tree[i] + 1] + 1] += 1
            for i in range(n):
                off[i + 1] += off[i]
                fill[i] = off[i]
            for i in range(ntree):
                a, b = c[4 * tree[i]], c[4 * tree[i] + 1]
                adj[fill[a]] = b
                fill[a] += 1
                adj[fill[b]] = a
                fill[b] += 1
            for i in range(n):
                depth[i] = -1
                up[i] = -1
            depth[0] = 0
            queue[0] = 0
            head, k = 0, 1
            while head < k:
                room = queue[head]
                head += 1
                for i in range(off[room], off[room + 1]):
                    if depth[adj[i]] < 0:
                        depth[adj[i]] = depth[room] + 1
                        up[adj[i]] = room
                        queue[k] = adj[i]
                        k += 1
            for i in range(nspare):
                a, b, steps = c[4 * spare[i]], c[4 * spare[i] + 1], 0
                while depth[a] > depth[b]:
                    a = up[a]
                    steps += 1
                while depth[b] > depth[a]:
                    b = up[b]
                    steps += 1
                while a != b:
                    a, b = up[a], up[b]
                    steps += 2
                ranked[i].k1, ranked[i].k2, ranked[i].index = -steps, i, i
            qsort(ranked, nspare, sizeof(Key3), cmp_key3)
            # used[0:n]: rooms with a new loop; used[n:]: picked spare positions
            for k in range(nspare):
                i = ranked[k].index
                a, b = c[4 * spare[i]], c[4 * spare[i] + 1]
                if not used[a] and not used[b]:
                    chosen[nchosen] = i
                    nchosen += 1
                    used[n + i] = 1
                    used[a] = used[b] = 1
                    if nchosen == wanted:
                        break
            if nchosen < wanted:
                for k in range(nspare):
                    if nchosen == wanted:
                        break
                    i = ranked[k].index
                    if not used[n + i]:
                        used[n + i] = 1
                        chosen[nchosen] = i
                        nchosen += 1
            # ascending: positions are distinct; a counting pass keeps it linear
            k = 0
            for i in range(nspare):
                if used[n + i]:
                    chosen[k] = i
                    k += 1
        finally:
            PyMem_Free(off)
            PyMem_Free(fill)
            PyMem_Free(adj)
            PyMem_Free(depth)
            PyMem_Free(up)
            PyMem_Free(queue)
            PyMem_Free(used)
            PyMem_Free(ranked)
        return nchosen

    cdef int route_all(self, int* tree, int ntree, int* spare, int* chosen, int nchosen) except -1:
        cdef int W = self.W, H = self.H, k, total = ntree + nchosen, contact, room, y
        cdef unsigned char* free = NULL
        cdef unsigned char* slots = <unsigned char*>PyMem_Calloc(W * H, 1)
        cdef int* stamp = NULL
        cdef IVec seg
        seg.d, seg.n, seg.cap = NULL, 0, 0
        try:
            if slots == NULL:
                raise MemoryError()
            if self.theme != DUNGEON:
                free = <unsigned char*>PyMem_Malloc(W * H)
                stamp = self.ints(W * H)
                if free == NULL:
                    raise MemoryError()
                open_inside(free, W, H)
                for room in range(self.N):
                    for y in range(self.fy0[room] - 1, self.fy1[room] + 2):
                        if y < 0 or y >= H or self.fx0[room] - 1 < 0 or self.fx1[room] + 1 >= W:
                            raise Fallback("a room off the map")
                        memset(free + y * W + self.fx0[room] - 1, 0, self.fx1[room] - self.fx0[room] + 3)
            for k in range(total):
                contact = tree[k] if k < ntree else spare[chosen[k - ntree]]
                self.route(contact, k, k >= ntree, slots, free, stamp, &seg)
        finally:
            PyMem_Free(free)
            PyMem_Free(slots)
            PyMem_Free(stamp)
            iv_free(&seg)
        return 0

    cdef void openings(self, int room, int side, int* low, int* high) noexcept:
        """``connect.openings``: side 0 E, 1 W, 2 N, 3 S."""
        cdef int y, edge, found = 0
        if self.span_off[room] < 0:
            if side < 2:
                low[0], high[0] = self.fy0[room], self.fy1[room]
            else:
                low[0], high[0] = self.fx0[room], self.fx1[room]
            return
        if side < 2:
            edge = self.fx1[room] if side == 0 else self.fx0[room]
            for y in range(self.fy0[room], self.fy1[room] + 1):
                if self.row_first(room, y) == edge or self.row_last(room, y) == edge:
                    if not found:
                        low[0] = y
                        found = 1
                    high[0] = y
            return
        y = self.fy0[room] if side == 2 else self.fy1[room]
        low[0], high[0] = self.row_first(room, y), self.row_last(room, y)

    cdef int take_slot(self, int low, int high, int want, unsigned char* used, int fixed, bint vertical) except? -9:
        """``connect._take_slot`` on the door tiles' map: position ``v`` is tile
        (fixed, v) of a vertical wall, (v, fixed) of a horizontal one."""
        cdef int d, v, s
        want = low if want < low else (high if want > high else want)
        if self.slot_ok(want, used, fixed, vertical):
            self.slot_set(want, used, fixed, vertical)
            return want
        for d in range(1, high - low + 1):
            for s in range(2):
                v = want - d if s == 0 else want + d
                if low <= v <= high and self.slot_ok(v, used, fixed, vertical):
                    self.slot_set(v, used, fixed, vertical)
                    return v
        raise Fallback("no door position")

    cdef inline int slot_index(self, int v, int fixed, bint vertical) noexcept:
        return v * self.W + fixed if vertical else fixed * self.W + v

    cdef bint slot_ok(self, int v, unsigned char* used, int fixed, bint vertical) except -1:
        cdef int limit = self.H if vertical else self.W
        cdef int other = self.W if vertical else self.H
        if v - 1 < 0 or v + 1 >= limit or fixed < 0 or fixed >= other:
            raise Fallback("a door slot off the map")
        if used[self.slot_index(v, fixed, vertical)]:
            return True
        return not used[self.slot_index(v - 1, fixed, vertical)] and not used[self.slot_index(v + 1, fixed, vertical)]

    cdef void slot_set(self, int v, unsigned char* used, int fixed, bint vertical) noexcept:
        used[self.slot_index(v, fixed, vertical)] = 1

    cdef int route(self, int contact, int index, bint loop, unsigned char* slots, unsigned char* free,
                   int* stamp, IVec* seg) except -1:
        cdef int* c = self.contacts.d
        cdef int a = c[4 * contact], b = c[4 * contact + 1], vertical = c[4 * contact + 2], line = c[4 * contact + 3]
        cdef int side_a, side_b, a_end, b_start, a_low, a_high, b_low, b_high, low, high, want, va, vb
        cdef int v, step, t, lens[3]
        if vertical:
            side_a, side_b, a_end, b_start = 0, 1, self.fx1[a], self.fx0[b]
        else:
            side_a, side_b, a_end, b_start = 3, 2, self.fy1[a], self.fy0[b]
        self.openings(a, side_a, &a_low, &a_high)
        self.openings(b, side_b, &b_low, &b_high)
        low, high = imax(a_low, b_low), imin(a_high, b_high)
        if low <= high:
            want = self.between(low, high)
        else:
            want = a_high if b_low > a_high else a_low
        va = self.take_slot(a_low, a_high, want, slots, a_end + 1, vertical)
        vb = self.take_slot(b_low, b_high, va, slots, b_start - 1, vertical)
        # the three segments, as (x, y) pairs in seg, with their lengths
        seg.n = 0
        for v in range(a_end + 2, line):
            if vertical:
                iv_push2(seg, v, va)
            else:
                iv_push2(seg, va, v)
        lens[0] = <int>(seg.n // 2)
        step = 1 if vb >= va else -1
        v = va
        while True:
            if vertical:
                iv_push2(seg, line, v)
            else:
                iv_push2(seg, v, line)
            if v == vb:
                break
            v += step
        lens[1] = <int>(seg.n // 2) - lens[0]
        for v in range(line + 1, b_start - 1):
            if vertical:
                iv_push2(seg, v, vb)
            else:
                iv_push2(seg, vb, v)
        lens[2] = <int>(seg.n // 2) - lens[0] - lens[1]
        cdef int offset = <int>(self.tiles.n // 2), route_len, count
        if free == NULL:
            for t in range(seg.n):
                iv_push(&self.tiles, seg.d[t])
            route_len = <int>(seg.n // 2)
            count = route_len
        else:
            self.shape(seg, lens, index, free, stamp, &route_len, &count)
        iv_reserve(&self.corr, 10)
        iv_push2(&self.corr, a, b)
        if vertical:
            iv_push2(&self.corr, a_end + 1, va)
            iv_push2(&self.corr, b_start - 1, vb)
        else:
            iv_push2(&self.corr, va, a_end + 1)
            iv_push2(&self.corr, vb, b_start - 1)
        iv_push2(&self.corr, loop, route_len)
        iv_push2(&self.corr, offset, count)
        return 0

    cdef inline bint is_free(self, unsigned char* free, int x, int y) except -1:
        if x < 0 or y < 0 or x >= self.W or y >= self.H:
            raise Fallback("a corridor tile off the map")
        return free[y * self.W + x] == 1

    cdef int shape(self, IVec* seg, int* lens, int index, unsigned char* free, int* stamp,
                   int* route_len, int* count) except -1:
        """``WindingShaper.shape``: the way (side steps on long segments), deduplicated,
        then (caves) the widening pairs, appended to ``self.tiles``."""
        cdef double wind = 0.3 if self.theme == CRYPT else 0.12
        cdef double widen = 0.0 if self.theme == CRYPT else 0.35
        cdef int route_mark = 2 * index + 1, added_mark = 2 * index + 2
        cdef int s, start = 0, i, cnt, back, length, side, dx, dy, j, x, y, nx, ny, ok
        cdef int offset = <int>(self.tiles.n // 2)
        cdef int* base
        cdef IVec out
        out.d, out.n, out.cap = NULL, 0, 0
        try:
            for s in range(3):
                cnt = lens[s]
                base = seg.d + 2 * start
                start += cnt
                if cnt < 5:
                    for i in range(cnt):
                        self.add_unique(base[2 * i], base[2 * i + 1], stamp, route_mark, -1)
                    continue
                nx, ny = base[3] - base[1], base[2] - base[0]
                i, back = 0, 0
                while i < cnt:
                    self.add_unique(base[2 * i], base[2 * i + 1], stamp, route_mark, -1)
                    if back < i < cnt - 3 and self.rnd() < wind:
                        length = self.between(2, imin(5, cnt - i - 2))
                        side = 1 if self.rnd() < 0.5 else -1
                        dx, dy = nx * side, ny * side
                        ok = 1
                        for j in range(i, i + length + 1):
                            if not self.is_free(free, base[2 * j] + dx, base[2 * j + 1] + dy):
                                ok = 0
                                break
                        if ok:
                            for j in range(i, i + length + 1):
                                self.add_unique(base[2 * j] + dx, base[2 * j + 1] + dy, stamp, route_mark, -1)
                            i += length
                            back = i
                            continue
                    i += 1
            route_len[0] = <int>(self.tiles.n // 2) - offset
            if widen > 0.0:
                self.widening(offset, route_len[0], free, stamp, route_mark, widen, &out)
                for i in range(0, out.n, 2):
                    self.add_unique(out.d[i], out.d[i + 1], stamp, added_mark, route_mark)
            count[0] = <int>(self.tiles.n // 2) - offset
        finally:
            iv_free(&out)
        return 0

    cdef int add_unique(self, int x, int y, int* stamp, int mark, int also) except -1:
        """Append tile (x, y) unless already marked ``mark`` (or ``also``)."""
        cdef int cell
        if x < 0 or y < 0 or x >= self.W or y >= self.H:
            raise Fallback("a corridor tile off the map")
        cell = y * self.W + x
        if stamp[cell] == mark or stamp[cell] == also:
            return 0
        stamp[cell] = mark
        return iv_push2(&self.tiles, x, y)

    cdef int widening(self, int offset, int count, unsigned char* free, int* stamp, int route_mark,
                      double widen, IVec* out) except -1:
        cdef int p, x0, y0, x1, y1, side, dx, dy, ax, ay, bx, by
        cdef int* t = self.tiles.d + 2 * offset
        for p in range(count - 1):
            x0, y0, x1, y1 = t[2 * p], t[2 * p + 1], t[2 * p + 2], t[2 * p + 3]
            if iabs(x1 - x0) + iabs(y1 - y0) != 1 or not (self.rnd() < widen):
                continue
            side = 1 if self.rnd() < 0.5 else -1
            dx, dy = (y1 - y0) * side, (x1 - x0) * side
            ax, ay, bx, by = x0 + dx, y0 + dy, x1 + dx, y1 + dy
            if self.off_route(ax, ay, stamp, route_mark) and self.is_free(free, ax, ay) \
                    and self.off_route(bx, by, stamp, route_mark) and self.is_free(free, bx, by):
                iv_push2(out, ax, ay)
                iv_push2(out, bx, by)
        return 0

    cdef bint off_route(self, int x, int y, int* stamp, int mark) except -1:
        if x < 0 or y < 0 or x >= self.W or y >= self.H:
            raise Fallback("a corridor tile off the map")
        return stamp[y * self.W + x] != mark

    # ------------------------------------------------------------ place_doors

    def place_doors(self):
        cdef int k, s, x, y, room, ncorr = <int>(self.corr.n // 10)
        cdef int* c
        for k in range(ncorr):
            for s in range(2):
                c = self.corr.d + 10 * k
                x, y, room = c[2 + 2 * s], c[3 + 2 * s], c[s]
                if x < 0 or y < 0 or x >= self.W or y >= self.H:
                    raise Fallback("a door off the map")
                if not self.door_at[y * self.W + x]:
                    iv_reserve(&self.doors, 5)
                    iv_push2(&self.doors, x, y)
                    iv_push2(&self.doors, room, k)
                    iv_push(&self.doors, -1)
                    self.door_at[y * self.W + x] = <int>(self.doors.n // 5)
        return f"Placed {self.doors.n // 5} doors"

    # ------------------------------------------------------------ place_keys

    cdef int build_links(self) except -1:
        cdef int n = self.N, k, a, b, ncorr = <int>(self.corr.n // 10)
        cdef int* fill = self.ints(n + 1)
        self.link_off = self.ints(n + 1)
        self.link_room = self.ints(2 * ncorr)
        self.link_corr = self.ints(2 * ncorr)
        for k in range(ncorr):
            self.link_off[self.corr.d[10 * k] + 1] += 1
            self.link_off[self.corr.d[10 * k + 1] + 1] += 1
        for k in range(n):
            self.link_off[k + 1] += self.link_off[k]
            fill[k] = self.link_off[k]
        for k in range(ncorr):
            a, b = self.corr.d[10 * k], self.corr.d[10 * k + 1]
            self.link_room[fill[a]], self.link_corr[fill[a]] = b, k
            fill[a] += 1
            self.link_room[fill[b]], self.link_corr[fill[b]] = a, k
            fill[b] += 1
        PyMem_Free(fill)
        # doors by room, in door order
        cdef int ndoors = <int>(self.doors.n // 5)
        fill = self.ints(n + 1)
        self.door_off = self.ints(n + 1)
        self.door_list = self.ints(ndoors)
        for k in range(ndoors):
            self.door_off[self.doors.d[5 * k + 2] + 1] += 1
        for k in range(n):
            self.door_off[k + 1] += self.door_off[k]
            fill[k] = self.door_off[k]
        for k in range(ndoors):
            a = self.doors.d[5 * k + 2]
            self.door_list[fill[a]] = k
            fill[a] += 1
        PyMem_Free(fill)
        return 0

    cdef int search(self, int start, int* avoid, int navoid) noexcept:
        """``graph.search``: the rooms reached, in order, into ``order`` (their count);
        ``parent``/``pcorr`` as the parents' dict."""
        cdef int head = 0, count = 1, room, i, other
        self.stamp += 1
        cdef int mark = self.stamp
        self.seen[start] = mark
        for i in range(navoid):
            self.seen[avoid[i]] = mark
        self.order[0] = start
        self.parent[start] = -1
        self.pcorr[start] = -1
        while head < count:
            room = self.order[head]
            head += 1
            for i in range(self.link_off[room], self.link_off[room + 1]):
                other = self.link_room[i]
                if self.seen[other] != mark:
                    self.seen[other] = mark
                    self.parent[other] = room
                    self.pcorr[other] = self.link_corr[i]
                    self.order[count] = other
                    count += 1
        return count

    cdef int path_length(self, int goal) noexcept:
        cdef int length = 0
        while goal != -1:
            length += 1
            goal = self.parent[goal]
        return length

    cdef int pick(self, int room, int* x_out, int* y_out) except -1:
        """``rooms.pick_free_tile`` on the taken-tiles map."""
        cdef int x0 = self.fx0[room], y0 = self.fy0[room], x1 = self.fx1[room], y1 = self.fy1[room]
        cdef int attempt, x, y, first, last
        for attempt in range(8):
            y = y0 + <int>(self.rnd() * (y1 - y0 + 1))
            first, last = self.row_first(room, y), self.row_last(room, y)
            x = first + <int>(self.rnd() * (last - first + 1))
            if not self.take(room, x, y):
                continue
            x_out[0], y_out[0] = x, y
            return 0
        for y in range(y0, y1 + 1):
            for x in range(self.row_first(room, y), self.row_last(room, y) + 1):
                if self.take(room, x, y):
                    x_out[0], y_out[0] = x, y
                    return 0
        raise Fallback("no free tile left")

    cdef bint take(self, int room, int x, int y) except -1:
        if x < 0 or y < 0 or x >= self.W or y >= self.H:
            raise Fallback("a floor tile off the map")
        if self.taken[y * self.W + x]:
            return False
        self.taken[y * self.W + x] = 1
        self.taken_count[room] += 1
        return True

    def place_keys(self):
        self.dice("place_keys")
        self.build_links()
        cdef int n = self.N, count, i, last, length, goal
        count = self.search(self.below(n), NULL, 0)
        self.entrance = self.order[count - 1]
        count = self.search(self.entrance, NULL, 0)
        if n >= 4 and self.path_length(self.order[count - 1]) == n:
            goal = self.order[count - 1]
            length = self.path_length(goal)
            # path[1][0]: the room after the start on the way to goal
            while self.parent[goal] != self.entrance:
                goal = self.parent[goal]
            self.entrance = goal
            count = self.search(self.entrance, NULL, 0)
        last = self.order[count - 1]
        length = self.path_length(last)
        iv_reserve(&self.critical, length)
        iv_reserve(&self.critical_corr, length)
        self.critical.n = length
        goal = last
        for i in range(length - 1, -1, -1):
            self.critical.d[i] = goal
            if i > 0:
                self.critical_corr.d[i - 1] = self.pcorr[goal]
            goal = self.parent[goal]
        self.critical_corr.n = length - 1
        self.exit_room = last
        self.pick(self.entrance, &self.ex, &self.ey)
        self.pick(self.exit_room, &self.xx, &self.xy)
        self.lock_rooms()
        # distances from the entrance
        count = self.search(self.entrance, NULL, 0)
        for i in range(n):
            self.distance[i] = -1
        self.distance[self.entrance] = 0
        for i in range(1, count):
            self.distance[self.order[i]] = self.distance[self.parent[self.order[i]]] + 1
        self.locked_doors = 0
        for i in range(<int>(self.doors.n // 5)):
            if self.doors.d[5 * i + 4] >= 0:
                self.locked_doors += 1
        return (f"Locked {self.locked_doors} doors with {self.keys.n // 5} keys; entrance r{self.entrance}, "
                f"exit r{self.exit_room}, critical path of {length} rooms")

    cdef int lock_rooms(self) except -1:
        """``keys._locks`` and the keys' doors and tiles."""
        cdef int n = self.N
        if n < 4:
            return 0
        cdef int length = <int>self.critical.n, nbetween = length - 2, extra, i, k, position, room
        cdef int count, nsides, nfresh, nchosen = 0, x, y, number, d
        cdef int* crit = self.critical.d
        extra = 1 + imin(self.difficulty // 3 + (self.theme == CRYPT), imax(length - 2, 0) // 2) - 1
        cdef KeyD* picks = <KeyD*>PyMem_Malloc((nbetween + 1) * sizeof(KeyD))
        cdef int* order = self.ints(length)
        cdef int norder = 0
        cdef unsigned char* on_path = <unsigned char*>PyMem_Calloc(n, 1)
        cdef unsigned char* opened = <unsigned char*>PyMem_Calloc(n, 1)
        cdef unsigned char* chosen_pick = <unsigned char*>PyMem_Calloc(nbetween + 1, 1)
        cdef int* sides = self.ints(n)
        cdef int* fresh = self.ints(n)
        cdef int* chosen = self.ints(2 * length)
        try:
            if picks == NULL or on_path == NULL or opened == NULL or chosen_pick == NULL:
                raise MemoryError()
            for i in range(nbetween):
                picks[i].k, picks[i].index = self.rnd(), i
            qsort(picks, nbetween, sizeof(KeyD), cmp_keyd)
            for i in range(imin(extra, nbetween)):
                chosen_pick[picks[i].index] = 1
            for i in range(nbetween):
                if chosen_pick[i]:
                    order[norder] = crit[1 + i]
                    norder += 1
            order[norder] = crit[length - 1]
            norder += 1
            for i in range(length):
                on_path[crit[i]] = 1
            for position in range(norder):
                room = order[position]
                count = self.search(crit[0], order + position, norder - position)
                nsides = nfresh = 0
                for i in range(count):
                    if not on_path[self.order[i]]:
                        sides[nsides] = self.order[i]
                        nsides += 1
                        if not opened[self.order[i]]:
                            fresh[nfresh] = self.order[i]
                            nfresh += 1
                if nfresh == 0:
                    memcpy(fresh, sides, nsides * sizeof(int))
                    nfresh = nsides
                if nfresh == 0:
                    continue
                chosen[2 * nchosen] = room
                chosen[2 * nchosen + 1] = fresh[self.below(nfresh)]
                nchosen += 1
                memset(opened, 0, n)
                for i in range(count):
                    opened[self.order[i]] = 1
            for number in range(nchosen):
                room = chosen[2 * number]
                iv_reserve(&self.keys, 5)
                iv_push2(&self.keys, chosen[2 * number + 1], 0)
                iv_push2(&self.keys, 0, <int>self.opens.n)
                iv_push(&self.keys, self.door_off[room + 1] - self.door_off[room])
                for k in range(self.door_off[room], self.door_off[room + 1]):
                    d = self.door_list[k]
                    self.doors.d[5 * d + 4] = number
                    iv_push(&self.opens, d)
            for number in range(nchosen):
                self.pick(chosen[2 * number + 1], &x, &y)
                self.keys.d[5 * number + 1] = x
                self.keys.d[5 * number + 2] = y
        finally:
            PyMem_Free(picks)
            PyMem_Free(order)
            PyMem_Free(on_path)
            PyMem_Free(opened)
            PyMem_Free(chosen_pick)
            PyMem_Free(sides)
            PyMem_Free(fresh)
            PyMem_Free(chosen)
        return 0

    # ------------------------------------------------------------ place_enemies

    def place_enemies(self):
        self.dice("place_enemies")
        cdef int low = imax(self.difficulty - 2, 1), high = imin(self.difficulty + 2, 9)
        cdef int farthest = 1, i, room, area, whole, count, base, level, x, y, e, bosses = 0
        cdef double per_tile = self.difficulty / 250.0, expected
        for i in range(self.N):
            farthest = imax(farthest, self.distance[i])
        if self.exit_room != self.entrance:
            self.pick(self.exit_room, &x, &y)
            self.push_enemy(5, high + 1, self.exit_room, x, y, 1)
            bosses = 1
        for room in range(self.N):
            if room == self.entrance:
                continue
            area = self.area[room] if self.span_off[room] >= 0 else (
                (self.fx1[room] - self.fx0[room] + 1) * (self.fy1[room] - self.fy0[room] + 1))
            expected = area * per_tile
            whole = <int>expected
            count = imin(whole + (self.rnd() < expected - whole), fdiv(area - self.taken_count[room] - 1, 2))
            base = low + fdiv((high - low) * self.distance[room], farthest)
            for e in range(count):
                self.pick(room, &x, &y)
                level = base + (self.rnd() < 0.4)
                self.push_enemy(imin(fdiv((level - 1) * 5, 10), 4), level, room, x, y, 0)
        self.place_treasures()
        return (f"Placed {self.enemies.n // 6} enemies ({bosses} boss) and "
                f"{self.treasures.n // 3} treasures")

    cdef int push_enemy(self, int kind, int level, int room, int x, int y, int boss) except -1:
        iv_reserve(&self.enemies, 6)
        iv_push2(&self.enemies, kind, level)
        iv_push2(&self.enemies, room, x)
        return iv_push2(&self.enemies, y, boss)

    cdef int place_treasures(self) except -1:
        cdef int n = self.N, k, room, x, y
        cdef int* corridors = self.ints(n)
        cdef unsigned char* on_path = <unsigned char*>PyMem_Calloc(n, 1)
        try:
            if on_path == NULL:
                raise MemoryError()
            for k in range(<int>(self.corr.n // 10)):
                corridors[self.corr.d[10 * k]] += 1
                corridors[self.corr.d[10 * k + 1]] += 1
            for k in range(<int>self.critical.n):
                on_path[self.critical.d[k]] = 1
            for room in range(n):
                if on_path[room]:
                    continue
                if corridors[room] > 1 and not (self.rnd() < 0.35):
                    continue
                self.pick(room, &x, &y)
                iv_push2(&self.treasures, room, x)
                iv_push(&self.treasures, y)
        finally:
            PyMem_Free(corridors)
            PyMem_Free(on_path)
        return 0

    # ------------------------------------------------------------ a blueprint built in Python

    def load_blueprint(self, blueprint):
        """A level built by the Python steps (a designed level's: ``design`` and ``contents``
        plan and place it, CONTRACT §4.1) put on the core's arrays, so that the checks
        (``validate``, as ``validate(designed=True)``), the scene graph, the minimap and the
        exports run here. ``Fallback`` when the blueprint is not as the core's own levels
        are (an id that is not its position, an index out of range, two doors on a tile, an
        enemy type of another theme, a value of another type): the pure pipeline then
        takes it as it is."""
        try:
            self.load_rooms(blueprint)
            self.load_corridors(blueprint.network)
            self.load_locks(blueprint.locks)
            self.load_population(blueprint.population)
            self.load_prefab_tags(blueprint.prefab_names)
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise Fallback(f"a blueprint the core does not take: {exc}") from exc
        self.designed = True
        self.attempt = blueprint.attempt
        self.build_links()

    cdef int load_rooms(self, blueprint) except -1:
        cdef int n = self.N, i, first, last, total
        rooms = blueprint.rooms
        if len(rooms) != n or blueprint.layout.width != self.W or blueprint.layout.height != self.H:
            raise Fallback("not the spec's rooms or size")
        for i in range(n):
            room = rooms[i]
            fields(room, 4)
            index, floor, spans = field(room, 0), field(room, 2), field(room, 3)
            fields(floor, 4)
            if index != i:
                raise Fallback("a room id that is not its position")
            self.fx0[i], self.fy0[i] = field(floor, 0), field(floor, 1)
            self.fx1[i], self.fy1[i] = field(floor, 2), field(floor, 3)
            if spans is None:
                self.span_off[i] = -1
                continue
            if len(spans) != self.fy1[i] - self.fy0[i] + 1:
                raise Fallback("a cavern with rows other than its bounds'")
            self.span_off[i] = <int>(self.spans.n // 2)
            total = 0
            for first, last in spans:
                iv_push2(&self.spans, first, last)
                total += last - first + 1
            self.area[i] = total
        return 0

    cdef int load_corridors(self, network) except -1:
        cdef int n = self.N, k, a, b, route, ax, ay, bx, by, x, y
        corridors = network.corridors
        for k in range(len(corridors)):
            corridor = corridors[k]
            fields(corridor, 8)
            index, a, b, door_a, door_b = (field(corridor, 0), field(corridor, 1), field(corridor, 2),
                                           field(corridor, 3), field(corridor, 4))
            tiles, loop, route = field(corridor, 5), field(corridor, 6), field(corridor, 7)
            fields(door_a, 2)
            fields(door_b, 2)
            ax, ay, bx, by = field(door_a, 0), field(door_a, 1), field(door_b, 0), field(door_b, 1)
            if index != k or not (0 <= a < n and 0 <= b < n) or not 0 <= route <= len(tiles):
                raise Fallback("a corridor unlike the core's")
            if loop is not True and loop is not False:
                raise Fallback("a corridor's loop not a bool")
            iv_reserve(&self.corr, 10)
            iv_push2(&self.corr, a, b)
            iv_push2(&self.corr, ax, ay)
            iv_push2(&self.corr, bx, by)
            iv_push2(&self.corr, 1 if loop else 0, route)
            iv_push2(&self.corr, <int>(self.tiles.n // 2), len(tiles))
            iv_reserve(&self.tiles, 2 * len(tiles))
            for x, y in tiles:
                iv_push2(&self.tiles, x, y)
        self.nloops, self.npossible = network.loops, network.possible
        return 0

    cdef int load_locks(self, locks) except -1:
        cdef int n = self.N, W = self.W, H = self.H, ncorr = <int>(self.corr.n // 10), k, x, y
        cdef int room, corridor, number, nkeys = len(locks.keys), ndoors, side
        doors = locks.doors
        ndoors = len(doors)
        self.locked_doors = 0
        for k in range(ndoors):
            door = doors[k]
            fields(door, 5)
            index, pos, room, corridor, key = (field(door, 0), field(door, 1), field(door, 2),
                                               field(door, 3), field(door, 4))
            fields(pos, 2)
            x, y = field(pos, 0), field(pos, 1)
            number = -1 if key is None else key
            if index != k or not (0 <= room < n and 0 <= corridor < ncorr and -1 <= number < nkeys):
                raise Fallback("a door unlike the core's")
            if not (0 <= x < W and 0 <= y < H) or self.door_at[y * W + x]:
                raise Fallback("a door off the map, or two on one tile")
            iv_reserve(&self.doors, 5)
            iv_push2(&self.doors, x, y)
            iv_push2(&self.doors, room, corridor)
            iv_push(&self.doors, number)
            self.door_at[y * W + x] = k + 1
            self.locked_doors += number >= 0
        for k in range(ncorr):
            for side in range(2):
                x, y = self.corr.d[10 * k + 2 + 2 * side], self.corr.d[10 * k + 3 + 2 * side]
                if not (0 <= x < W and 0 <= y < H) or not self.door_at[y * W + x]:
                    raise Fallback("a corridor's end that is not a door")
        for k in range(nkeys):
            item = locks.keys[k]
            fields(item, 5)
            index, kind, room, pos, opens = (field(item, 0), field(item, 1), field(item, 2),
                                             field(item, 3), field(item, 4))
            fields(pos, 2)
            x, y = field(pos, 0), field(pos, 1)
            if index != k or kind != "key" or not 0 <= room < n:
                raise Fallback("a key unlike the core's")
            iv_reserve(&self.keys, 5)
            iv_push2(&self.keys, room, x)
            iv_push2(&self.keys, y, <int>self.opens.n)
            iv_push(&self.keys, len(opens))
            for number in opens:
                if not 0 <= number < ndoors:
                    raise Fallback("a key opening no door")
                iv_push(&self.opens, number)
        self.entrance, (self.ex, self.ey) = locks.entrance
        self.exit_room, (self.xx, self.xy) = locks.exit
        if not (0 <= self.entrance < n and 0 <= self.exit_room < n) or len(locks.distance) != n:
            raise Fallback("an entrance, exit or distances unlike the core's")
        for room in locks.critical_path:
            if not 0 <= room < n:
                raise Fallback("a critical path through no room")
            iv_push(&self.critical, room)
        for corridor in locks.critical_corridors:
            if not 0 <= corridor < ncorr:
                raise Fallback("a critical path along no corridor")
            iv_push(&self.critical_corr, corridor)
        for k in range(n):
            self.distance[k] = locks.distance[k]
        return 0

    cdef int load_population(self, population) except -1:
        cdef int n = self.N, k, kind, level, room, x, y
        cdef dict kinds = _KIND_INDEX[self.theme]
        enemies, treasures = population.enemies, population.treasures
        for k in range(len(enemies)):
            enemy = enemies[k]
            fields(enemy, 6)
            index, name, level, room, pos, boss = (field(enemy, 0), field(enemy, 1), field(enemy, 2),
                                                   field(enemy, 3), field(enemy, 4), field(enemy, 5))
            fields(pos, 2)
            x, y = field(pos, 0), field(pos, 1)
            kind = kinds.get(name, -1)
            if index != k or kind < 0 or not 0 <= room < n or (boss is not True and boss is not False):
                raise Fallback("an enemy unlike the core's")
            self.push_enemy(kind, level, room, x, y, 1 if boss else 0)
        for k in range(len(treasures)):
            item = treasures[k]
            fields(item, 5)
            index, name, room, pos = field(item, 0), field(item, 1), field(item, 2), field(item, 3)
            fields(pos, 2)
            x, y = field(pos, 0), field(pos, 1)
            if index != k or name != "treasure" or not 0 <= room < n:
                raise Fallback("a treasure unlike the core's")
            iv_push2(&self.treasures, room, x)
            iv_push(&self.treasures, y)
        return 0

    cdef int load_prefab_tags(self, dict names) except -1:
        cdef int room
        if not names:
            return 0
        self.prefab_tags = [None] * self.N
        for room, name in names.items():
            if not 0 <= room < self.N or not isinstance(name, str) or _PREFAB_NAME.fullmatch(name) is None:
                raise Fallback("a prefab name the core does not write")
            self.prefab_tags[room] = f',"prefab:{name}"'.encode()
        return 0

    # ------------------------------------------------------------ validate

    def validate(self):
        """Whether every check of ``validate`` passes (``False``: let the pure pipeline
        say which fail, and try again)."""
        return bool(self.shapes_ok() and self.paint() and self.doors_ok() and self.placements_ok()
                    and self.reach_ok() and self.route_ok())

    cdef bint unimodal(self, int room, int column, int sign) noexcept:
        cdef int i, before, after, fallen = 0
        cdef int h = self.fy1[room] - self.fy0[room] + 1, base = self.span_off[room]
        for i in range(h - 1):
            before = sign * self.spans.d[2 * (base + i) + column]
            after = sign * self.spans.d[2 * (base + i + 1) + column]
            if after < before:
                fallen = 1
            elif after > before and fallen:
                return False
        return True

    cdef bint shapes_ok(self) noexcept:
        cdef int room, i, j, lo, hi, h, base, found, first, last
        for room in range(self.N):
            if self.fx1[room] - self.fx0[room] < 2 or self.fy1[room] - self.fy0[room] < 2:
                return False
            if self.fx0[room] < 1 or self.fy0[room] < 1 or self.fx1[room] + 1 >= self.W or self.fy1[room] + 1 >= self.H:
                return False
            if self.span_off[room] < 0:
                continue
            h, base = self.fy1[room] - self.fy0[room] + 1, self.span_off[room]
            lo, hi = self.spans.d[2 * base], self.spans.d[2 * base + 1]
            for i in range(h):
                first, last = self.spans.d[2 * (base + i)], self.spans.d[2 * (base + i) + 1]
                if first > last:
                    return False
                lo, hi = imin(lo, first), imax(hi, last)
            if lo != self.fx0[room] or hi != self.fx1[room]:
                return False
            if not (self.unimodal(room, 0, -1) and self.unimodal(room, 1, 1)):
                return False
            found = 0
            for i in range(h - 2):
                lo, hi = -2147483647, 2147483647
                for j in range(i, i + 3):
                    lo = imax(lo, self.spans.d[2 * (base + j)])
                    hi = imin(hi, self.spans.d[2 * (base + j) + 1])
                if hi - lo >= 2:
                    found = 1
                    break
            if not found:
                return False
        return True

    cdef bint paint(self) noexcept:
        """``grid.build_grid``; ``False`` on an overlap or a corridor off the map or into a room."""
        cdef unsigned char* cells = self.cells
        cdef int stride = self.stride, room, x0, y0, x1, y1, row, x, y, k, covered = 0, cell
        cdef long long room_area = 0
        cdef int total = (self.H + 2) * stride
        for room in range(self.N):
            x0, y0, x1, y1 = self.fx0[room], self.fy0[room], self.fx1[room], self.fy1[room]
            for y in range(y0 - 1, y1 + 2):
                row = (y + 1) * stride
                if y == y0 - 1 or y == y1 + 1:
                    memset(cells + row + x0 - 1, WALL, x1 - x0 + 3)
                else:
                    memset(cells + row + x0 - 1, WALL, x1 - x0 + 3)
                    x = self.row_first(room, y)
                    memset(cells + row + x, FLOOR, self.row_last(room, y) - x + 1)
            room_area += (x1 - x0 + 3) * (y1 - y0 + 3)
        for k in range(total):
            covered += cells[k] != ROCK
        if covered != room_area:
            return False
        for k in range(0, <int>self.tiles.n, 2):
            x, y = self.tiles.d[k], self.tiles.d[k + 1]
            if not (0 <= x < self.W and 0 <= y < self.H):
                return False
            cell = (y + 1) * stride + x
            if cells[cell] == ROCK or cells[cell] == CORRIDOR:
                cells[cell] = CORRIDOR
            else:
                return False
        for k in range(<int>(self.doors.n // 5)):
            x, y = self.doors.d[5 * k], self.doors.d[5 * k + 1]
            if 0 <= x < self.W and 0 <= y < self.H:
                cells[(y + 1) * stride + x] = DOOR
        return True

    cdef bint doors_ok(self) noexcept:
        cdef unsigned char* cells = self.cells
        cdef int stride = self.stride, k, x, y, cell, room
        cdef bint left, right, up, down
        for k in range(<int>(self.doors.n // 5)):
            x, y, room = self.doors.d[5 * k], self.doors.d[5 * k + 1], self.doors.d[5 * k + 2]
            if not (0 <= x < self.W and 0 <= y < self.H):
                return False
            cell = (y + 1) * stride + x
            left, right = cells[cell - 1] >= FLOOR, cells[cell + 1] >= FLOOR
            up, down = cells[cell - stride] >= FLOOR, cells[cell + stride] >= FLOOR
            if not ((left and right and not up and not down) or (up and down and not left and not right)):
                return False
            if not (((x == self.fx0[room] - 1 or x == self.fx1[room] + 1) and self.fy0[room] <= y <= self.fy1[room])
                    or ((y == self.fy0[room] - 1 or y == self.fy1[room] + 1) and self.fx0[room] <= x <= self.fx1[room])):
                return False
        return True

    cdef bint placed_ok(self, int room, int x, int y, int* marks, int mark) noexcept:
        if not (self.fx0[room] <= x <= self.fx1[room] and self.fy0[room] <= y <= self.fy1[room]):
            return False
        if self.cells[(y + 1) * self.stride + x] != FLOOR:
            return False
        if marks[y * self.W + x] == mark:
            return False
        marks[y * self.W + x] = mark
        return True

    cdef bint placements_ok(self) noexcept:
        # door_at is no longer needed as a map of doors: reuse a fresh mark in it is unsafe,
        # so the taken map's tiles are marked in a scratch array instead
        cdef int* marks = <int*>PyMem_Calloc(self.W * self.H, sizeof(int))
        cdef int k
        cdef bint ok = True
        if marks == NULL:
            return False
        try:
            ok = self.placed_ok(self.entrance, self.ex, self.ey, marks, 1) and \
                self.placed_ok(self.exit_room, self.xx, self.xy, marks, 1)
            k = 0
            while ok and k < self.keys.n:
                ok = self.placed_ok(self.keys.d[k], self.keys.d[k + 1], self.keys.d[k + 2], marks, 1)
                k += 5
            k = 0
            while ok and k < self.treasures.n:
                ok = self.placed_ok(self.treasures.d[k], self.treasures.d[k + 1], self.treasures.d[k + 2], marks, 1)
                k += 3
            k = 0
            while ok and k < self.enemies.n:
                ok = self.placed_ok(self.enemies.d[k + 2], self.enemies.d[k + 3], self.enemies.d[k + 4], marks, 1) \
                    and self.enemies.d[k + 2] != self.entrance
                k += 6
        finally:
            PyMem_Free(marks)
        return ok

    cdef int door_key(self, int x, int y) noexcept:
        return self.doors.d[5 * (self.door_at[y * self.W + x] - 1) + 4]

    cdef int reach(self, bint with_keys, int closed, unsigned char* reached) except -1:
        """``reachability._reach``: how many rooms are reached from the entrance, picking
        up keys (when ``with_keys``), the lock of key ``closed`` never opening."""
        cdef int n = self.N, nkeys = <int>(self.keys.n // 5), head = 0, count = 1, room, i, k, e
        cdef int corridor, other, la, lb, shut
        cdef int* queue = self.ints(n)
        cdef unsigned char* held = <unsigned char*>PyMem_Calloc(nkeys + 1, 1)
        cdef IVec* waiting = <IVec*>PyMem_Calloc(nkeys + 1, sizeof(IVec))
        cdef IVec links
        links.d, links.n, links.cap = NULL, 0, 0
        try:
            if held == NULL or waiting == NULL:
                raise MemoryError()
            memset(reached, 0, n)
            reached[self.entrance] = 1
            queue[0] = self.entrance
            while head < count:
                room = queue[head]
                head += 1
                links.n = 0
                for i in range(self.link_off[room], self.link_off[room + 1]):
                    iv_push2(&links, self.link_room[i], self.link_corr[i])
                if with_keys:
                    for k in range(nkeys):
                        if self.keys.d[5 * k] == room and k != closed:
                            held[k] = 1
                            for e in range(waiting[k].n):
                                iv_push(&links, waiting[k].d[e])
                            waiting[k].n = 0
                for i in range(0, <int>links.n, 2):
                    other, corridor = links.d[i], links.d[i + 1]
                    if reached[other]:
                        continue
                    la = self.door_key(self.corr.d[10 * corridor + 2], self.corr.d[10 * corridor + 3])
                    lb = self.door_key(self.corr.d[10 * corridor + 4], self.corr.d[10 * corridor + 5])
                    shut = la if (la >= 0 and not held[la]) else -1
                    if shut < 0 and lb >= 0 and not held[lb]:
                        shut = lb
                    if shut < 0:
                        reached[other] = 1
                        queue[count] = other
                        count += 1
                    elif shut != closed:
                        iv_push2(&waiting[shut], other, corridor)
        finally:
            PyMem_Free(queue)
            PyMem_Free(held)
            if waiting != NULL:
                for k in range(nkeys + 1):
                    iv_free(&waiting[k])
            PyMem_Free(waiting)
            iv_free(&links)
        return count

    cdef bint reach_ok(self) except -1:
        cdef int n = self.N, nkeys = <int>(self.keys.n // 5), k
        cdef unsigned char* reached = <unsigned char*>PyMem_Calloc(n, 1)
        if reached == NULL:
            raise MemoryError()
        try:
            if self.reach(True, -1, reached) != n or not reached[self.exit_room]:
                return False
            for k in range(nkeys):
                self.reach(True, k, reached)
                if not reached[self.keys.d[5 * k]]:
                    return False
            if nkeys:
                self.reach(False, -1, reached)
                if reached[self.exit_room]:
                    return False
        finally:
            PyMem_Free(reached)
        return True

    cdef bint route_ok(self) noexcept:
        cdef int k, t, px, py, x, y, count, far, most = -1, room, following, a, b, i
        cdef int* c
        for k in range(<int>(self.corr.n // 10)):
            c = self.corr.d + 10 * k
            px, py = c[2], c[3]
            for t in range(c[7] + 1):
                if t < c[7]:
                    if t >= c[9]:
                        break
                    x, y = self.tiles.d[2 * (c[8] + t)], self.tiles.d[2 * (c[8] + t) + 1]
                else:
                    x, y = c[4], c[5]
                if iabs(x - px) + iabs(y - py) != 1:
                    return False
                px, py = x, y
        count = self.search(self.entrance, NULL, 0)
        cdef int* dist = <int*>PyMem_Malloc(self.N * sizeof(int))
        if dist == NULL:
            return False
        for i in range(self.N):
            dist[i] = -1
        dist[self.entrance] = 0
        for i in range(1, count):
            dist[self.order[i]] = dist[self.parent[self.order[i]]] + 1
        for i in range(self.N):
            far = dist[i]
            if far != self.distance[i]:
                PyMem_Free(dist)
                return False
            most = imax(most, far)
        PyMem_Free(dist)
        if self.designed:  # its exit is where the constraints put it (``check_route(designed=True)``)
            most = self.distance[self.exit_room]
        if self.distance[self.exit_room] != most or self.critical.n != most + 1:
            return False
        for i in range(<int>self.critical_corr.n):
            if i + 1 >= self.critical.n:
                break
            room, following = self.critical.d[i], self.critical.d[i + 1]
            a, b = self.corr.d[10 * self.critical_corr.d[i]], self.corr.d[10 * self.critical_corr.d[i] + 1]
            if not ((a == room and b == following) or (a == following and b == room)):
                return False
        if self.N >= 4 and not self.designed:  # a designed level's locks are as many as asked
            return self.key_aside()
        return True

    cdef bint key_aside(self) noexcept:
        cdef int k, d, key_room, locked_room
        cdef unsigned char* on_path = <unsigned char*>PyMem_Calloc(self.N, 1)
        cdef bint found = False
        if on_path == NULL:
            return False
        for k in range(<int>self.critical.n):
            on_path[self.critical.d[k]] = 1
        for k in range(<int>(self.keys.n // 5)):
            key_room = self.keys.d[5 * k]
            locked_room = -1
            for d in range(<int>(self.doors.n // 5)):
                if self.doors.d[5 * d + 4] == k:
                    locked_room = self.doors.d[5 * d + 2]  # the last door with the key, as the dict keeps
            if locked_room >= 0 and on_path[locked_room] and not on_path[key_room]:
                found = True
                break
        PyMem_Free(on_path)
        return found

    # ------------------------------------------------------------ compose_scene_graph

    cdef void inside(self, int room, int x, int y, int* ix, int* iy) noexcept:
        if x < self.fx0[room]:
            ix[0], iy[0] = x + 1, y
        elif x > self.fx1[room]:
            ix[0], iy[0] = x - 1, y
        elif y < self.fy0[room]:
            ix[0], iy[0] = x, y + 1
        else:
            ix[0], iy[0] = x, y - 1

    cdef int critical_path_tiles(self) noexcept:
        cdef int hx = self.ex, hy = self.ey, tiles = 1, i, room, k, lx, ly, nx, ny, ix, iy, other
        cdef int* c
        for i in range(<int>imin(self.critical.n, self.critical_corr.n)):
            room, k = self.critical.d[i], self.critical_corr.d[i]
            c = self.corr.d + 10 * k
            if c[0] == room:
                lx, ly, nx, ny, other = c[2], c[3], c[4], c[5], c[1]
            else:
                lx, ly, nx, ny, other = c[4], c[5], c[2], c[3], c[0]
            self.inside(room, lx, ly, &ix, &iy)
            tiles += iabs(hx - ix) + iabs(hy - iy) + 1 + c[7] + 1
            self.inside(other, nx, ny, &hx, &hy)
            tiles += 1
        return tiles + iabs(hx - self.xx) + iabs(hy - self.xy)

    def compose_scene_graph(self):
        cdef Buf b
        b.d, b.n, b.cap = NULL, 0, 0
        try:
            self.write_scene_graph(&b)
            self.sg_json = buf_bytes(&b)
        finally:
            PyMem_Free(b.d)
        return (f"Composed {self.N} rooms, {self.doors.n // 5} doors, {self.enemies.n // 6} enemies")

    cdef int write_scene_graph(self, Buf* b) except -1:
        cdef int n = self.N, i, k, t, room, kind
        cdef int* c
        cdef bytes spec_json = self.spec_json.encode()
        cdef Piece* kinds = _KIND_NAMES + 6 * self.theme
        cdef unsigned char* locked = <unsigned char*>PyMem_Calloc(n, 1)
        cdef unsigned char* on_path = <unsigned char*>PyMem_Calloc(n, 1)
        cdef int* bosses = self.ints(n)
        try:
            if locked == NULL or on_path == NULL:
                raise MemoryError()
            for k in range(<int>(self.doors.n // 5)):
                if self.doors.d[5 * k + 4] >= 0:
                    locked[self.doors.d[5 * k + 2]] = 1
            for k in range(<int>self.critical.n):
                on_path[self.critical.d[k]] = 1
            for k in range(0, <int>self.enemies.n, 6):
                if self.enemies.d[k + 5]:
                    bosses[self.enemies.d[k + 2]] += 1
            puts(b, b'{"schema":"levelforge.scene-graph/1","seed":')
            puti(b, self.seed)
            puts(b, b',"spec":')
            put_bytes(b, spec_json)
            puts(b, b',"size":{"w":')
            puti(b, self.W)
            puts(b, b',"h":')
            puti(b, self.H)
            puts(b, b'},"rooms":[')
            for room in range(n):
                if room:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b'r', room)
                puts(b, b',"bounds":{"x":')
                puti(b, self.fx0[room])
                puts(b, b',"y":')
                puti(b, self.fy0[room])
                puts(b, b',"w":')
                puti(b, self.fx1[room] - self.fx0[room] + 1)
                puts(b, b',"h":')
                puti(b, self.fy1[room] - self.fy0[room] + 1)
                puts(b, b'},"tags":[')
                if room == self.entrance:
                    puts(b, b'"entrance",')
                if room == self.exit_room:
                    puts(b, b'"exit",')
                puts(b, b'"critical"' if on_path[room] else b'"side"')
                if locked[room]:
                    puts(b, b',"locked"')
                for k in range(bosses[room]):
                    puts(b, b',"boss"')
                if self.prefab_tags is not None and self.prefab_tags[room] is not None:
                    put_bytes(b, self.prefab_tags[room])
                if self.span_off[room] < 0:
                    puts(b, b'],"shape":"rect","area":')
                    puti(b, (self.fx1[room] - self.fx0[room] + 1) * (self.fy1[room] - self.fy0[room] + 1))
                else:
                    puts(b, b'],"shape":"cavern","area":')
                    puti(b, self.area[room])
                puts(b, b',"distance":')
                puti(b, self.distance[room])
                if self.span_off[room] >= 0:
                    puts(b, b',"spans":[')
                    for k in range(self.fy1[room] - self.fy0[room] + 1):
                        if k:
                            putc(b, b',')
                        putc(b, b'[')
                        puti(b, self.spans.d[2 * (self.span_off[room] + k)])
                        putc(b, b',')
                        puti(b, self.spans.d[2 * (self.span_off[room] + k) + 1])
                        putc(b, b']')
                    putc(b, b']')
                putc(b, b'}')
            puts(b, b'],"corridors":[')
            for k in range(<int>(self.corr.n // 10)):
                c = self.corr.d + 10 * k
                if k:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b'c', k)
                puts(b, b',"connects":[')
                put_id(b, b'r', c[0])
                putc(b, b',')
                put_id(b, b'r', c[1])
                puts(b, b'],"tiles":[')
                buf_reserve(b, 16 * c[9])
                for t in range(c[9]):
                    if t:
                        putc(b, b',')
                    putc(b, b'[')
                    puti(b, self.tiles.d[2 * (c[8] + t)])
                    putc(b, b',')
                    puti(b, self.tiles.d[2 * (c[8] + t) + 1])
                    putc(b, b']')
                puts(b, b'],"loop":true}' if c[6] else b'],"loop":false}')
            puts(b, b'],"doors":[')
            for k in range(<int>(self.doors.n // 5)):
                c = self.doors.d + 5 * k
                if k:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b'd', k)
                puts(b, b',"pos":')
                put_pos(b, c[0], c[1])
                puts(b, b',"joins":[')
                put_id(b, b'r', c[2])
                putc(b, b',')
                put_id(b, b'c', c[3])
                if c[4] >= 0:
                    puts(b, b'],"locked":true,"key":')
                    put_id(b, b'k', c[4])
                    putc(b, b'}')
                else:
                    puts(b, b'],"locked":false,"key":null}')
            puts(b, b'],"items":[')
            for k in range(<int>(self.keys.n // 5)):
                c = self.keys.d + 5 * k
                if k:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b'k', k)
                puts(b, b',"kind":"key","room":')
                put_id(b, b'r', c[0])
                puts(b, b',"pos":')
                put_pos(b, c[1], c[2])
                puts(b, b',"opens":[')
                for t in range(c[4]):
                    if t:
                        putc(b, b',')
                    put_id(b, b'd', self.opens.d[c[3] + t])
                puts(b, b']}')
            for k in range(<int>(self.treasures.n // 3)):
                c = self.treasures.d + 3 * k
                if k or self.keys.n:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b't', k)
                puts(b, b',"kind":"treasure","room":')
                put_id(b, b'r', c[0])
                puts(b, b',"pos":')
                put_pos(b, c[1], c[2])
                putc(b, b'}')
            puts(b, b'],"enemies":[')
            for k in range(<int>(self.enemies.n // 6)):
                c = self.enemies.d + 6 * k
                if k:
                    putc(b, b',')
                puts(b, b'{"id":')
                put_id(b, b'e', k)
                puts(b, b',"type":"')
                put_piece(b, kinds, c[0])
                puts(b, b'","level":')
                puti(b, c[1])
                puts(b, b',"room":')
                put_id(b, b'r', c[2])
                puts(b, b',"pos":')
                put_pos(b, c[3], c[4])
                puts(b, b',"boss":true}' if c[5] else b',"boss":false}')
            puts(b, b'],"entrance":{"room":')
            put_id(b, b'r', self.entrance)
            puts(b, b',"pos":')
            put_pos(b, self.ex, self.ey)
            puts(b, b'},"exit":{"room":')
            put_id(b, b'r', self.exit_room)
            puts(b, b',"pos":')
            put_pos(b, self.xx, self.xy)
            puts(b, b'},"critical_path":[')
            for k in range(<int>self.critical.n):
                if k:
                    putc(b, b',')
                put_id(b, b'r', self.critical.d[k])
            puts(b, b'],"critical_path_corridors":[')
            for k in range(<int>self.critical_corr.n):
                if k:
                    putc(b, b',')
                put_id(b, b'c', self.critical_corr.d[k])
            self.path_tiles = self.critical_path_tiles()
            puts(b, b'],"stats":{"rooms":')
            puti(b, n)
            puts(b, b',"doors":')
            puti(b, self.doors.n // 5)
            puts(b, b',"locks":')
            puti(b, self.locked_doors)
            puts(b, b',"enemies":')
            puti(b, self.enemies.n // 6)
            puts(b, b',"treasures":')
            puti(b, self.treasures.n // 3)
            puts(b, b',"loops":')
            puti(b, self.nloops)
            puts(b, b',"loops_possible":')
            puti(b, self.npossible)
            puts(b, b',"critical_path_rooms":')
            puti(b, self.critical.n)
            puts(b, b',"critical_path_tiles":')
            puti(b, self.path_tiles)
            puts(b, b',"attempts":')
            puti(b, self.attempt)
            puts(b, b'}}')
        finally:
            PyMem_Free(locked)
            PyMem_Free(on_path)
            PyMem_Free(bosses)
        return 0

    @property
    def scene_graph_json(self):
        return self.sg_json

    def stats(self):
        """The scene graph's ``stats`` (for the summary, the SVG's text)."""
        return {
            "rooms": self.N,
            "doors": self.doors.n // 5,
            "locks": self.locked_doors,
            "enemies": self.enemies.n // 6,
            "treasures": self.treasures.n // 3,
            "loops": self.nloops,
            "loops_possible": self.npossible,
            "critical_path_rooms": self.critical.n,
            "critical_path_tiles": self.path_tiles,
            "attempts": self.attempt,
        }

    def object_count(self):
        """Doors, items, enemies, the entrance and the exit: the objects of ``tiled.json``."""
        return self.doors.n // 5 + self.keys.n // 5 + self.treasures.n // 3 + self.enemies.n // 6 + 2

    # ------------------------------------------------------------ render_ascii_minimap

    def render_minimap(self):
        cdef int W = self.W, H = self.H, stride = self.stride, x, y, dx, dy, k
        cdef unsigned char* cells = self.cells
        cdef unsigned char* near
        cdef bytes out = PyBytes_FromStringAndSize(NULL, H * stride)
        cdef char* rows = PyBytes_AS_STRING(out)
        cdef unsigned char* padded = <unsigned char*>PyMem_Calloc((H + 2) * stride + 2, 1)
        cdef unsigned char* walk = padded + 1
        if padded == NULL:
            raise MemoryError()
        try:
            for k in range((H + 2) * stride):
                walk[k] = cells[k] >= FLOOR
            for y in range(H):
                near = walk + (y + 1) * stride
                for x in range(W):
                    if near[x]:
                        rows[y * stride + x] = b'.'
                    elif (near[x - 1] or near[x + 1] or near[x - stride] or near[x + stride]
                          or near[x - stride - 1] or near[x - stride + 1]
                          or near[x + stride - 1] or near[x + stride + 1]):
                        rows[y * stride + x] = b'#'
                    else:
                        rows[y * stride + x] = b' '
                rows[y * stride + W] = b'\n'
        finally:
            PyMem_Free(padded)
        for k in range(<int>(self.doors.n // 5)):
            rows[self.doors.d[5 * k + 1] * stride + self.doors.d[5 * k]] = b'L' if self.doors.d[5 * k + 4] >= 0 else b'+'
        rows[self.ey * stride + self.ex] = b'@'
        rows[self.xy * stride + self.xx] = b'>'
        for k in range(0, <int>self.keys.n, 5):
            rows[self.keys.d[k + 2] * stride + self.keys.d[k + 1]] = b'k'
        for k in range(0, <int>self.treasures.n, 3):
            rows[self.treasures.d[k + 2] * stride + self.treasures.d[k + 1]] = b'$'
        for k in range(0, <int>self.enemies.n, 6):
            rows[self.enemies.d[k + 4] * stride + self.enemies.d[k + 3]] = b'B' if self.enemies.d[k + 5] else b'e'
        self.minimap_bytes = out
        self.minimap_text = out.decode("ascii")
        return self.minimap_text

    @property
    def minimap(self):
        return self.minimap_text

    @property
    def minimap_encoded(self):
        return self.minimap_bytes

    # ------------------------------------------------------------ tiled.json

    def tiled_json(self, str head):
        """The bytes of ``tiled.tiled_json``: ``head`` (the map's template filled in, from
        Python), the tiles as gids, the objects."""
        cdef Buf b
        cdef int k, t, number = 1
        cdef const unsigned char* m = <const unsigned char*>PyBytes_AS_STRING(self.minimap_bytes)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(self.minimap_bytes), i
        cdef char digit
        cdef int* c
        cdef Piece* kinds = _KIND_NAMES + 6 * self.theme
        cdef bint first = True
        b.d, b.n, b.cap = NULL, 0, 0
        try:
            put_bytes(&b, head.encode())
            buf_reserve(&b, 2 * size + 64 * (self.doors.n + self.enemies.n + self.keys.n + self.treasures.n) + 4096)
            for i in range(size):
                if m[i] == b'\n':
                    continue
                if m[i] == b' ':
                    digit = b'0'
                elif m[i] == b'#':
                    digit = b'1'
                elif m[i] == b'+':
                    digit = b'3'
                elif m[i] == b'L':
                    digit = b'4'
                else:
                    digit = b'2'
                if not first:
                    b.d[b.n] = b','
                    b.n += 1
                first = False
                b.d[b.n] = digit
                b.n += 1
            put_bytes(&b, _MIDDLE)
            for k in range(<int>(self.doors.n // 5)):
                c = self.doors.d + 5 * k
                if number > 1:
                    putc(&b, b',')
                put_piece(&b, _DOOR, 0)
                puti(&b, number)
                put_piece(&b, _DOOR, 1)
                put_id(&b, b'd', k)
                put_piece(&b, _DOOR, 2)
                puti(&b, c[0] * TILE)
                put_piece(&b, _DOOR, 3)
                puti(&b, c[1] * TILE)
                put_piece(&b, _DOOR, 4)
                puts(&b, b'true' if c[4] >= 0 else b'false')
                put_piece(&b, _DOOR, 5)
                if c[4] >= 0:
                    put_id(&b, b'k', c[4])
                else:
                    puts(&b, b'""')
                put_piece(&b, _DOOR, 6)
                puts(&b, b'"r')
                puti(&b, c[2])
                puts(&b, b',c')
                puti(&b, c[3])
                putc(&b, b'"')
                put_piece(&b, _DOOR, 7)
                number += 1
            for k in range(<int>(self.keys.n // 5)):
                c = self.keys.d + 5 * k
                self.put_item(&b, number, b'k', k, b'"key"', c[0], c[1], c[2])
                put_piece(&b, _OPENS, 0)
                putc(&b, b'"')
                for t in range(c[4]):
                    if t:
                        putc(&b, b',')
                    putc(&b, b'd')
                    puti(&b, self.opens.d[c[3] + t])
                putc(&b, b'"')
                put_piece(&b, _OPENS, 1)
                put_piece(&b, _ITEM, 7)
                number += 1
            for k in range(<int>(self.treasures.n // 3)):
                c = self.treasures.d + 3 * k
                self.put_item(&b, number, b't', k, b'"treasure"', c[0], c[1], c[2])
                put_piece(&b, _ITEM, 7)
                number += 1
            for k in range(<int>(self.enemies.n // 6)):
                c = self.enemies.d + 6 * k
                if number > 1:
                    putc(&b, b',')
                put_piece(&b, _ENEMY, 0)
                puti(&b, number)
                put_piece(&b, _ENEMY, 1)
                put_id(&b, b'e', k)
                put_piece(&b, _ENEMY, 2)
                puti(&b, c[3] * TILE)
                put_piece(&b, _ENEMY, 3)
                puti(&b, c[4] * TILE)
                put_piece(&b, _ENEMY, 4)
                putc(&b, b'"')
                put_piece(&b, kinds, c[0])
                putc(&b, b'"')
                put_piece(&b, _ENEMY, 5)
                puti(&b, c[1])
                put_piece(&b, _ENEMY, 6)
                puts(&b, b'true' if c[5] else b'false')
                put_piece(&b, _ENEMY, 7)
                put_id(&b, b'r', c[2])
                put_piece(&b, _ENEMY, 8)
                number += 1
            self.put_place(&b, number, b'entrance', self.ex, self.ey, self.entrance)
            self.put_place(&b, number + 1, b'exit', self.xx, self.xy, self.exit_room)
            put_bytes(&b, _TAIL)
            return buf_bytes(&b)
        finally:
            PyMem_Free(b.d)

    cdef int put_item(self, Buf* b, int number, char prefix, int k, const char* kind, int room, int x, int y) except -1:
        if number > 1:
            putc(b, b',')
        put_piece(b, _ITEM, 0)
        puti(b, number)
        put_piece(b, _ITEM, 1)
        put_id(b, prefix, k)
        put_piece(b, _ITEM, 2)
        puts(b, kind)
        put_piece(b, _ITEM, 3)
        puti(b, x * TILE)
        put_piece(b, _ITEM, 4)
        puti(b, y * TILE)
        put_piece(b, _ITEM, 5)
        put_id(b, b'r', room)
        return put_piece(b, _ITEM, 6)

    cdef int put_place(self, Buf* b, int number, const char* name, int x, int y, int room) except -1:
        if number > 1:
            putc(b, b',')
        put_piece(b, _PLACE, 0)
        puti(b, number)
        put_piece(b, _PLACE, 1)
        puts(b, name)
        put_piece(b, _PLACE, 2)
        puts(b, name)
        put_piece(b, _PLACE, 3)
        puti(b, x * TILE)
        put_piece(b, _PLACE, 4)
        puti(b, y * TILE)
        put_piece(b, _PLACE, 5)
        put_id(b, b'r', room)
        return put_piece(b, _PLACE, 6)

    # ------------------------------------------------------------ preview.svg

    def svg_body(self):
        """The SVG between the frame's head and tail (see ``svg.svg_frame``): the wall and
        floor masks, the corridors, the markers."""
        cdef Buf b
        b.d, b.n, b.cap = NULL, 0, 0
        try:
            self.put_mask(&b, b'wall', _WALL, b"#.+L@>k$eB")
            self.put_mask(&b, b'room', _ROOM, b".@>k$eB")
            self.put_corridors(&b)
            puts(&b, b'</g>')
            self.put_markers(&b)
            return buf_bytes(&b)
        finally:
            PyMem_Free(b.d)

    cdef int put_mask(self, Buf* b, const char* name, bytes colour, const char* drawn) except -1:
        cdef unsigned char classes[256]
        cdef const unsigned char* m = <const unsigned char*>PyBytes_AS_STRING(self.minimap_bytes)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(self.minimap_bytes), i, start
        cdef int kind
        memset(classes, 1, 256)
        for i in range(<Py_ssize_t>strlen(drawn)):
            classes[<unsigned char>drawn[i]] = 0
        classes[10] = 2
        puts(b, b'<path class="')
        puts(b, name)
        puts(b, b'" stroke="')
        put_bytes(b, colour)
        puts(b, b'" d="M0 .5')
        i = 0
        while i < size:
            start = i
            kind = classes[m[i]]
            i += 1
            while i < size and classes[m[i]] == kind:
                i += 1
            if kind == 0:
                putc(b, b'h')
                puti(b, i - start)
            elif kind == 1:
                putc(b, b'm')
                puti(b, i - start)
                puts(b, b' 0')
            else:
                while start < i:
                    puts(b, b'm-')
                    puti(b, self.W)
                    puts(b, b' 1')
                    start += 1
        return puts(b, b'"/>')

    cdef int put_corridors(self, Buf* b) except -1:
        cdef unsigned char* on = <unsigned char*>PyMem_Calloc(self.W * self.H, 1)
        cdef int k, x, y, at_x = 0, at_y = 0, run_x
        if on == NULL:
            raise MemoryError()
        try:
            for k in range(0, <int>self.tiles.n, 2):
                on[self.tiles.d[k + 1] * self.W + self.tiles.d[k]] = 1
            puts(b, b'<path class="corridor" stroke="')
            put_bytes(b, _CORRIDOR)
            puts(b, b'" d="M0 .5')
            for y in range(self.H):
                x = 0
                while x < self.W:
                    if not on[y * self.W + x]:
                        x += 1
                        continue
                    run_x = x
                    while x < self.W and on[y * self.W + x]:
                        x += 1
                    putc(b, b'm')
                    puti(b, run_x - at_x)
                    putc(b, b' ')
                    puti(b, y - at_y)
                    putc(b, b'h')
                    puti(b, x - run_x)
                    at_x, at_y = x, y
            puts(b, b'"/>')
        finally:
            PyMem_Free(on)
        return 0

    cdef int put_use(self, Buf* b, const char* marker, int x, int y) except -1:
        puts(b, b'<use href="#')
        puts(b, marker)
        puts(b, b'" x="')
        puti(b, x)
        puts(b, b'" y="')
        puti(b, y)
        return puts(b, b'"/>')

    cdef int put_group_head(self, Buf* b, const char* name, const char* colour, const char* extra) except -1:
        puts(b, b'<g class="')
        puts(b, name)
        puts(b, b'" fill="')
        puts(b, colour)
        putc(b, b'"')
        puts(b, extra)
        return putc(b, b'>')

    cdef int put_markers(self, Buf* b) except -1:
        cdef int k, level, lv
        cdef int* c
        cdef const char* colours = PyBytes_AS_STRING(_ENEMY_COLOURS)
        cdef char name[32]
        puts(b, b'<g class="markers">')
        self.put_group_head(b, b'door open', PyBytes_AS_STRING(_DOOR_OPEN), b'')
        for k in range(0, <int>self.doors.n, 5):
            if self.doors.d[k + 4] < 0:
                self.put_use(b, b'm-door', self.doors.d[k], self.doors.d[k + 1])
        puts(b, b'</g>')
        self.put_group_head(b, b'door locked', PyBytes_AS_STRING(_DOOR_LOCKED), b'')
        for k in range(0, <int>self.doors.n, 5):
            if self.doors.d[k + 4] >= 0:
                self.put_use(b, b'm-locked', self.doors.d[k], self.doors.d[k + 1])
        puts(b, b'</g>')
        self.put_group_head(b, b'key', PyBytes_AS_STRING(_KEY), b'')
        for k in range(0, <int>self.keys.n, 5):
            self.put_use(b, b'm-key', self.keys.d[k + 1], self.keys.d[k + 2])
        puts(b, b'</g>')
        self.put_group_head(b, b'treasure', PyBytes_AS_STRING(_TREASURE), b'')
        for k in range(0, <int>self.treasures.n, 3):
            self.put_use(b, b'm-treasure', self.treasures.d[k + 1], self.treasures.d[k + 2])
        puts(b, b'</g>')
        puts(b, b'<g class="enemies" stroke="')
        put_bytes(b, _INK)
        puts(b, b'" stroke-width=".06">')
        for level in range(1, 11):
            c = NULL
            for k in range(0, <int>self.enemies.n, 6):
                if self.enemies.d[k + 5]:
                    continue
                lv = imin(imax(self.enemies.d[k + 1], 1), 10)
                if lv != level:
                    continue
                if c == NULL:
                    puts(b, b'<g class="enemy level-')
                    puti(b, level)
                    puts(b, b'" fill="')
                    puts(b, colours + 8 * (level - 1))
                    puts(b, b'">')
                    c = self.enemies.d
                self.put_use(b, b'm-enemy', self.enemies.d[k + 3], self.enemies.d[k + 4])
            if c != NULL:
                puts(b, b'</g>')
        puts(b, b'</g>')
        self.put_group_head(b, b'boss', PyBytes_AS_STRING(_BOSS), b' stroke="#fff" stroke-width=".08"')
        for k in range(0, <int>self.enemies.n, 6):
            if self.enemies.d[k + 5]:
                self.put_use(b, b'm-boss', self.enemies.d[k + 3], self.enemies.d[k + 4])
        puts(b, b'</g>')
        self.put_group_head(b, b'entrance', PyBytes_AS_STRING(_ENTRANCE), b'')
        self.put_use(b, b'm-entrance', self.ex, self.ey)
        puts(b, b'</g>')
        self.put_group_head(b, b'exit', PyBytes_AS_STRING(_EXIT), b'')
        self.put_use(b, b'm-exit', self.xx, self.xy)
        puts(b, b'</g>')
        return puts(b, b'</g>')


# ---------------------------------------------------------------- helpers of the Python steps
#
# The designed steps (``design``, ``contents``) stay in Python; ``connect`` hands the two of
# its helpers they call most to these (``connect.compiled_helpers``): the same results from
# the same arguments, the same draws from the same dice.

cdef struct Run:
    int line
    int start
    int end
    int index


cdef int cmp_run(const void* pa, const void* pb) noexcept nogil:
    cdef const Run* a = <const Run*>pa
    cdef const Run* b = <const Run*>pb
    if a.line != b.line:
        return -1 if a.line < b.line else 1
    if a.start != b.start:
        return -1 if a.start < b.start else 1
    if a.end != b.end:
        return -1 if a.end < b.end else 1
    return (a.index > b.index) - (a.index < b.index)


cdef Py_ssize_t first_on(Run* runs, Py_ssize_t count, int line) noexcept:
    """The first run on ``line`` or after it (``count`` if none)."""
    cdef Py_ssize_t lo = 0, hi = count, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if runs[mid].line < line:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int meet(list out, object contact, int index, bint vertical, object line_obj, Run* runs,
              Py_ssize_t count, int line, int low, int high) except -1:
    """``connect._meeting`` on the runs of one line, each found appended as a contact."""
    cdef Py_ssize_t first = first_on(runs, count, line), last = first, lo, hi, mid
    cdef int start, end
    while last < count and runs[last].line == line:
        last += 1
    if first == last:
        return 0
    lo, hi = 0, last - first  # bisect.bisect_right(ends, low + 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if low + 1 < runs[first + mid].end:
            hi = mid
        else:
            lo = mid + 1
    for mid in range(first + lo, last):
        start, end = runs[mid].start, runs[mid].end
        if start > high - 2:
            break
        if (high if high < end else end) - (low if low > start else start) >= 2:
            out.append(_tuple_new(contact, (index, runs[mid].index, vertical, line_obj)))
    return 0


_tuple_new = tuple.__new__
"""What a named tuple's ``__new__`` calls: its instances made without that Python call."""


def find_contacts(regions, contact):
    """``connect.find_contacts`` of a layout's ``regions``, each contact a ``contact`` (a
    named tuple class: ``connect.Contact``)."""
    cdef Py_ssize_t n = len(regions), i
    cdef Run* by_x = <Run*>PyMem_Malloc((n + 1) * sizeof(Run))
    cdef Run* by_y = <Run*>PyMem_Malloc((n + 1) * sizeof(Run))
    cdef int* corners = <int*>PyMem_Malloc((4 * n + 1) * sizeof(int))
    cdef int x0, y0, x1, y1
    cdef list out = []
    try:
        if by_x == NULL or by_y == NULL or corners == NULL:
            raise MemoryError()
        for i in range(n):
            x0, y0, x1, y1 = regions[i]
            corners[4 * i], corners[4 * i + 1], corners[4 * i + 2], corners[4 * i + 3] = x0, y0, x1, y1
            by_x[i].line, by_x[i].start, by_x[i].end, by_x[i].index = x0, y0, y1, <int>i
            by_y[i].line, by_y[i].start, by_y[i].end, by_y[i].index = y0, x0, x1, <int>i
        qsort(by_x, n, sizeof(Run), cmp_run)
        qsort(by_y, n, sizeof(Run), cmp_run)
        for i in range(n):
            x0, y0, x1, y1 = corners[4 * i], corners[4 * i + 1], corners[4 * i + 2], corners[4 * i + 3]
            meet(out, contact, <int>i, True, x1, by_x, n, x1, y0, y1)
            meet(out, contact, <int>i, False, y1, by_y, n, y1, x0, x1)
    finally:
        PyMem_Free(by_x)
        PyMem_Free(by_y)
        PyMem_Free(corners)
    return out


cdef object _connect = None


cdef object connect_module():
    """``generation.connect``, imported when first needed (it hands its helpers to these)."""
    global _connect
    if _connect is None:
        from levelforge.generation import connect
        _connect = connect
    return _connect


cdef inline bint usable(int v, set used):
    """A door position in use already or touching none in use (``connect._positions``)."""
    return v in used or (v - 1 not in used and v + 1 not in used)


cdef list positions(object drawn, int low, int high, int want, set used, bint first_only):
    """``connect._positions`` as a list (of its first item alone with ``first_only``): the
    drawn positions nearest ``want`` first, the lesser of two as near first, or every one of
    ``low … high`` from ``want`` (clamped) outwards, the lower side first; the usable ones."""
    cdef list found = []
    cdef int distance, k, v
    if drawn is None:
        want = low if want < low else high if want > high else want
        if usable(want, used):
            found.append(want)
            if first_only:
                return found
        for distance in range(1, high - low + 1):
            for k in range(2):
                v = want - distance if k == 0 else want + distance
                if low <= v <= high and usable(v, used):
                    found.append(v)
                    if first_only:
                        return found
        return found
    for v in sorted(drawn, key=lambda d: (abs(d - want), d)):
        if low <= v <= high and usable(v, used):
            found.append(v)
            if first_only:
                return found
    return found


cdef int first_position(object drawn, int low, int high, int want, set used) except? -1:
    """``next(connect._positions(...))`` (which says so itself where there is none)."""
    cdef list found = positions(drawn, low, high, want, used, True)
    if not found:
        return next(connect_module()._positions(drawn, low, high, want, used))
    return found[0]


cdef inline void fixed_span(object positions, int* low, int* high):
    """``connect._fixed_span``."""
    if positions is not None:
        low[0], high[0] = min(positions), max(positions)


cdef inline int at(bint vertical, int width, int across, int along) noexcept:
    """The cell of tile (across, along) of a contact's line: (x, y) when it is vertical."""
    return along * width + across if vertical else across * width + along


cdef bint clear(unsigned char* free, int width, bint vertical, int line, int a_end, int b_start,
                int va, int vb) noexcept:
    """``Shaper.clear`` of the way ``connect._segments`` makes: every tile free."""
    cdef int t, step = 1 if vb >= va else -1
    for t in range(a_end + 2, line):
        if not free[at(vertical, width, t, va)]:
            return False
    t = va
    while True:
        if not free[at(vertical, width, line, t)]:
            return False
        if t == vb:
            break
        t += step
    for t in range(line + 1, b_start - 1):
        if not free[at(vertical, width, t, vb)]:
            return False
    return True


cdef void keep_off(unsigned char* free, int width, tuple tiles):
    """``Shaper.keep_off``: each tile and the four beside it off the free map."""
    cdef int x, y, cell
    for tile in tiles:
        x, y = tile
        cell = y * width + x
        free[cell] = 0
        free[cell - 1] = 0
        free[cell + 1] = 0
        free[cell - width] = 0
        free[cell + width] = 0


cdef void open_inside(unsigned char* free, int width, int height) noexcept:
    """A free map's start: 1 on every tile but the map's edge (``corridors.free_tiles``)."""
    cdef int y
    memset(free, 1, width * height)
    memset(free, 0, width)
    memset(free + (height - 1) * width, 0, width)
    for y in range(height):
        free[y * width] = 0
        free[y * width + width - 1] = 0


def free_tiles(layout, rooms):
    """``corridors.free_tiles``: the same bytes (1 where a corridor may go)."""
    cdef int width = layout.width, height = layout.height, y, x0, x1, y0, y1
    cdef bytearray made = bytearray(width * height)
    cdef unsigned char* free = <unsigned char*>PyByteArray_AS_STRING(made)
    open_inside(free, width, height)
    for room in rooms:
        floor = room.floor
        x0, y0, x1, y1 = floor.x0 - 1, floor.y0 - 1, floor.x1 + 1, floor.y1 + 1
        if x0 < 0 or y0 < 0 or x1 >= width or y1 >= height:  # never so: the pure one's slices say
            from levelforge.generation.corridors import free_tiles as pure
            return pure(layout, rooms)
        for y in range(y0, y1 + 1):
            memset(free + y * width + x0, 0, x1 - x0 + 1)
    return made


def any_touching(corridors, int width, int height):
    """Whether ``reachability._touching`` finds corridors that touch (on or beside one
    another's tiles): its groups are then worth working out."""
    cdef int* owner = <int*>PyMem_Calloc(width * height if width * height > 0 else 1, sizeof(int))
    cdef int number, x, y, cell, near, k, other
    cdef int steps[5]
    if owner == NULL:
        raise MemoryError()
    steps[0], steps[1], steps[2], steps[3], steps[4] = 0, -1, 1, -width, width
    try:
        for corridor in corridors:
            number = corridor.index + 1
            for tile in corridor.tiles:
                x, y = tile
                cell = y * width + x
                for k in range(5):
                    near = cell + steps[k]
                    if 0 <= near < width * height:
                        other = owner[near]
                        if other != 0 and other != number:
                            return True
            for tile in corridor.tiles:
                x, y = tile
                cell = y * width + x
                if 0 <= cell < width * height:
                    owner[cell] = number
        return False
    finally:
        PyMem_Free(owner)


cdef struct Way:
    int turns, length, cell, heading


cdef inline bint way_less(Way* a, Way* b) noexcept nogil:
    if a.turns != b.turns:
        return a.turns < b.turns
    if a.length != b.length:
        return a.length < b.length
    if a.cell != b.cell:
        return a.cell < b.cell
    return a.heading < b.heading


cdef int way_push(Way** heap, Py_ssize_t* count, Py_ssize_t* cap, Way item) except -1:
    cdef Py_ssize_t i, parent
    cdef Way* grown
    if count[0] == cap[0]:
        grown = <Way*>PyMem_Realloc(heap[0], (2 * cap[0] + 16) * sizeof(Way))
        if grown == NULL:
            raise MemoryError()
        heap[0], cap[0] = grown, 2 * cap[0] + 16
    i = count[0]
    count[0] += 1
    while i > 0:
        parent = (i - 1) // 2
        if not way_less(&item, &heap[0][parent]):
            break
        heap[0][i] = heap[0][parent]
        i = parent
    heap[0][i] = item
    return 0


cdef Way way_pop(Way* heap, Py_ssize_t* count) noexcept:
    cdef Way top = heap[0], last
    cdef Py_ssize_t i = 0, child
    count[0] -= 1
    last = heap[count[0]]
    while True:
        child = 2 * i + 1
        if child >= count[0]:
            break
        if child + 1 < count[0] and way_less(&heap[child + 1], &heap[child]):
            child += 1
        if not way_less(&heap[child], &last):
            break
        heap[i] = heap[child]
        i = child
    if count[0] > 0:
        heap[i] = last
    return top


def fewest_turns(bytearray free_map, int width, list starts, set goals, tuple box):
    """``connect.fewest_turns``: the same way (a binary heap popping the same order)."""
    cdef int x0, y0, x1, y1, bw, bh, cell, x, y, number, near, state, other, turns, length
    cdef Py_ssize_t size = len(free_map), count = 0, cap = 0, states
    cdef unsigned char* free = <unsigned char*>PyByteArray_AS_STRING(free_map)
    cdef int steps[4]
    cdef int* best_turns = NULL
    cdef int* best_length = NULL
    cdef int* came = NULL
    cdef unsigned char* goal = NULL
    cdef Way* heap = NULL
    cdef Way item
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    for cell in (*starts, *goals):
        if not (x0 <= cell % width <= x1 and y0 <= cell // width <= y1):
            return connect_module().fewest_turns(free_map, width, starts, goals, box)
    steps[0], steps[1], steps[2], steps[3] = 1, -1, width, -width
    states = <Py_ssize_t>bw * bh * 5
    try:
        best_turns = <int*>PyMem_Malloc(states * sizeof(int))
        best_length = <int*>PyMem_Malloc(states * sizeof(int))
        came = <int*>PyMem_Malloc(states * sizeof(int))
        goal = <unsigned char*>PyMem_Calloc(bw * bh, 1)
        if best_turns == NULL or best_length == NULL or came == NULL or goal == NULL:
            raise MemoryError()
        for state in range(states):
            best_turns[state], best_length[state], came[state] = 1 << 30, 0, -1
        for cell in goals:
            goal[(cell // width - y0) * bw + cell % width - x0] = 1
        for cell in starts:
            state = ((cell // width - y0) * bw + cell % width - x0) * 5
            best_turns[state], best_length[state] = 0, 0
            item.turns, item.length, item.cell, item.heading = 0, 0, cell, -1
            way_push(&heap, &count, &cap, item)
        found = False
        while count:
            item = way_pop(heap, &count)
            state = ((item.cell // width - y0) * bw + item.cell % width - x0) * 5 + item.heading + 1
            if best_turns[state] < item.turns or (best_turns[state] == item.turns and best_length[state] < item.length):
                continue
            if goal[(item.cell // width - y0) * bw + item.cell % width - x0]:
                found = True
                break
            for number in range(4):
                near = item.cell + steps[number]
                if near < 0 or near >= size:
                    continue
                x, y = near % width, near // width
                if not (free[near] and x0 <= x <= x1 and y0 <= y <= y1):
                    continue
                turns = item.turns + (1 if item.heading >= 0 and number != item.heading else 0)
                length = item.length + 1
                other = ((y - y0) * bw + x - x0) * 5 + number + 1
                if turns < best_turns[other] or (turns == best_turns[other] and length < best_length[other]):
                    best_turns[other], best_length[other], came[other] = turns, length, state
                    way_push(&heap, &count, &cap, Way(turns, length, near, number))
        if not found:
            return None
        way = []
        while state >= 0:
            cell = state // 5
            way.append((cell // bw + y0) * width + cell % bw + x0)
            state = came[state]
        way.reverse()
        return item.turns, way
    finally:
        PyMem_Free(best_turns)
        PyMem_Free(best_length)
        PyMem_Free(came)
        PyMem_Free(goal)
        PyMem_Free(heap)


def route_apart(rooms, contact, slots, dice, shaper, index, loop, fixed, only):
    """``connect.route_apart``: the same corridor (or ``None``) from the same arguments, the
    same draws, the same free map after."""
    connect = connect_module()
    cdef int a, b, line, a_end, b_start, a_low, a_high, b_low, b_high, low, high, want, va, vb, step, t
    cdef int other, near, width = shaper.width
    cdef bytearray free_map = shaper.free
    cdef unsigned char* free = <unsigned char*>PyByteArray_AS_STRING(free_map)
    cdef bint found
    a, b, vertical, line = contact
    room_a, room_b = rooms[a], rooms[b]
    fa, fb = room_a.floor, room_b.floor
    if vertical:
        side_a, side_b, a_end, b_start = "E", "W", fa.x1, fb.x0
        a_low, a_high = (fa.y0, fa.y1) if room_a.spans is None else connect.openings(room_a, side_a)
        b_low, b_high = (fb.y0, fb.y1) if room_b.spans is None else connect.openings(room_b, side_b)
    else:
        side_a, side_b, a_end, b_start = "S", "N", fa.y1, fb.y0
        a_low, a_high = (fa.x0, fa.x1) if room_a.spans is None else connect.openings(room_a, side_a)
        b_low, b_high = (fb.x0, fb.x1) if room_b.spans is None else connect.openings(room_b, side_b)
    drawn_a = drawn_b = None
    if fixed is not None:
        drawn_a, drawn_b = entry(fixed, (a, side_a)), entry(fixed, (b, side_b))
        fixed_span(drawn_a, &a_low, &a_high)
        fixed_span(drawn_b, &b_low, &b_high)
    low, high = imax(a_low, b_low), imin(a_high, b_high)
    if low <= high:  # ``dice.between(low, high)`` written out: the same draw
        draw = dice.random()
        want = low + <int>(<double>draw * (high - low + 1))
    else:
        want = a_high if b_low > a_high else a_low
    used_a, used_b = wall_slots(slots, (a, side_a)), wall_slots(slots, (b, side_b))
    va = first_position(drawn_a, a_low, a_high, want, used_a)
    vb = first_position(drawn_b, b_low, b_high, va, used_b)
    if not clear(free, width, vertical, line, a_end, b_start, va, vb):
        found = False
        for other in positions(drawn_a, a_low, a_high, want, used_a, False):
            near = first_position(drawn_b, b_low, b_high, other, used_b)
            if clear(free, width, vertical, line, a_end, b_start, other, near):
                va, vb, found = other, near, True
                break
        if not found:
            maze = connect._maze_route(rooms, a, b, slots, shaper, fixed, only)
            if maze is not None:
                doors, tiles, length = maze
                keep_off(free, width, tiles)
                return _tuple_new(connect.Corridor, (index, a, b, *doors, tiles, loop, length))
            if loop:
                return None
    used_a.add(va)
    used_b.add(vb)
    step = 1 if vb >= va else -1
    first, along, last = segments(vertical, line, a_end, b_start, va, vb, step)
    if type(shaper) is connect.Shaper:  # straight: ``Shaper.shape``, the segments one after another
        tiles = (*first, *along, *last)
        length = len(tiles)
    else:
        length, tiles = shaper.shape([first, along, last])
    keep_off(free, width, tiles)
    return _tuple_new(connect.Corridor, (index, a, b, *ends(vertical, a_end, b_start, va, vb), tiles, loop,
                                         length))


cdef object entry(object mapping, tuple key):
    """``mapping.get(key)``, looked up straight in a ``dict``."""
    cdef PyObject* found
    if type(mapping) is not dict:
        return mapping.get(key)
    found = PyDict_GetItem(mapping, key)
    return None if found == NULL else <object>found


cdef set wall_slots(object slots, tuple key):
    """``slots[key]`` of ``connect.Slots`` (a ``defaultdict(set)``): the wall's set, a new
    one put there when it has none yet, as the ``defaultdict`` would, without its
    ``__missing__`` call."""
    cdef PyObject* found
    cdef set used
    if not isinstance(slots, dict):
        return slots[key]
    found = PyDict_GetItem(slots, key)
    if found != NULL:
        return <set><object>found
    used = set()
    slots[key] = used
    return used


cdef tuple ends(bint vertical, int a_end, int b_start, int va, int vb):
    """The two doors of a corridor (``connect._route``'s ``door_a``, ``door_b``)."""
    if vertical:
        return (a_end + 1, va), (b_start - 1, vb)
    return (va, a_end + 1), (vb, b_start - 1)


cdef inline tuple tile(bint vertical, int across, int along):
    """Tile (across, along) of a contact's line: (x, y) when it is vertical."""
    return (across, along) if vertical else (along, across)


cdef tuple segments(bint vertical, int line, int a_end, int b_start, int va, int vb, int step):
    """``connect._segments``: the stub from ``a``, the run along the line, the stub into
    ``b``, each a list of tiles."""
    cdef int t
    return (
        [tile(vertical, t, va) for t in range(a_end + 2, line)],
        [tile(vertical, line, t) for t in range(va, vb + step, step)],
        [tile(vertical, t, vb) for t in range(line + 1, b_start - 1)],
    )


cdef object _rooms = None
cdef object _crypt_sizing = None
cdef object _dungeon_sizing = None


cdef object rooms_module():
    """``generation.rooms``, imported when first needed (its two sizings with it)."""
    global _rooms, _crypt_sizing, _dungeon_sizing
    if _rooms is None:
        from levelforge.generation import rooms
        _rooms, _crypt_sizing, _dungeon_sizing = rooms, rooms._crypt_length, rooms._dungeon_length
    return _rooms


cdef int span_of(int low, int high, int size, sizing, random, MT* mt, int* start_out, int* end_out) except -1:
    """``rooms._span``: the same floor range from the same draws, from ``mt`` when it is
    not NULL (the core's own dice), else from ``random`` (a ``random.Random``'s
    ``random``); the sizings of ``rooms`` written out, any other one called."""
    rooms_module()
    cdef int first = low + (1 if low == 0 else 2)
    cdef int last = high - (1 if high == size - 1 else 2)
    cdef int room = last - first + 1, length, longest, shortest, start
    cdef double draw
    if sizing is _crypt_sizing:
        draw = mt_random(mt) if mt != NULL else random()
        length = 3 + <int>(draw * (imax(3, imin(fdiv(room * 3, 5), CRYPT_MAX_SIDE)) - 2))
    elif sizing is _dungeon_sizing:
        longest = imin(room, MAX_SIDE)
        shortest = imin(imax(3, fdiv(room * 3, 5)), longest)
        draw = mt_random(mt) if mt != NULL else random()
        length = shortest + <int>(draw * (longest - shortest + 1))
    else:
        length = sizing(room, random)
    draw = mt_random(mt) if mt != NULL else random()
    start = first + <int>(draw * (last - length + 2 - first))
    start_out[0], end_out[0] = start, start + length - 1
    return 0


def carve_designed(layout, str theme, prefab_of, starts, dice):
    """``design.carve_designed`` (``starts``: its ``_straddles``): the same rooms from
    the same draws."""
    r = rooms_module()
    Room, Rect = r.Room, r.Rect
    regions = layout.regions
    cdef int W = layout.width, H = layout.height, n = len(regions), index, rx0, ry0, rx1, ry1
    cdef int inside_w, inside_h, axis, first, last, x0, y0, x1, y1
    cdef MT* mt = mt_of(dice)
    cdef bint cave = theme == "cave"
    sizing = _crypt_sizing if theme == "crypt" else _dungeon_sizing
    random = dice.random
    rooms = []
    for index in range(n):
        region = regions[index]
        rx0, ry0, rx1, ry1 = field(region, 0), field(region, 1), field(region, 2), field(region, 3)
        prefab = prefab_of.get(index)
        if prefab is not None:
            inside_w, inside_h = prefab.inside
            axis, first, last = -1, 0, 0
            start = starts.get(index)
            if start is not None:
                axis, (first, last) = start
            if axis == 0:
                x0 = first + <int>(draw_of(dice, mt) * (last - first + 1))
            else:
                x0 = placed_at(rx0, rx1, W, inside_w, dice, mt)
            if axis == 1:
                y0 = first + <int>(draw_of(dice, mt) * (last - first + 1))
            else:
                y0 = placed_at(ry0, ry1, H, inside_h, dice, mt)
            floor = _tuple_new(Rect, (x0, y0, x0 + inside_w - 1, y0 + inside_h - 1))
            rooms.append(_tuple_new(Room, (index, region, floor, None)))
            continue
        span_of(rx0, rx1, W, sizing, random, mt, &x0, &x1)
        span_of(ry0, ry1, H, sizing, random, mt, &y0, &y1)
        floor = _tuple_new(Rect, (x0, y0, x1, y1))
        rooms.append(_tuple_new(Room, (index, region, floor, r.cavern(floor, dice) if cave else None)))
    return tuple(rooms)


cdef int placed_at(int low, int high, int size, int length, object dice, MT* mt) except? -1:
    """``design._place``: where a copy's floor starts across its region."""
    cdef int first = low + (1 if low == 0 else 2)
    cdef int last = high - (1 if high == size - 1 else 2) - length + 1
    return first + <int>(draw_of(dice, mt) * (last - first + 1))


cdef tuple pick_tile(object room, set taken, object dice):
    """``rooms.pick_free_tile``: the same tile from the same draws (after eight draws
    taken, the first free tile row by row, as there), drawing in C from the core's own
    dice (``Dice``)."""
    cdef int x0, y0, x1, y1, y, first, last, k
    cdef double draw
    cdef MT* mt = NULL
    floor, spans = field(room, 2), field(room, 3)
    x0, y0, x1, y1 = floor
    if type(dice) is Dice:
        mt = &(<Dice>dice).mt
    else:
        random = dice.random
    for k in range(8):
        draw = mt_random(mt) if mt != NULL else random()
        y = y0 + <int>(draw * (y1 - y0 + 1))
        if spans is None:
            first, last = x0, x1
        else:
            first, last = spans[y - y0]
        draw = mt_random(mt) if mt != NULL else random()
        tile = (first + <int>(draw * (last - first + 1)), y)
        if tile not in taken:
            taken.add(tile)
            return tile
    return rooms_module()._first_free_tile(room, taken)


cdef int cut_with(object draw, int low, int high, int size, int cross, int n, int* line_out) except -1:
    """``layout._cut``, drawing from ``draw`` (a ``random.Random``'s ``random``)."""
    cdef int slots = fdiv(high - low + (low == 0) + (high == size - 1), MIN_SPAN)
    cdef int n1, columns, first, last, target, jitter, line
    cdef double r = draw()
    n1 = imin(imax(<int>rint(n * (0.35 + 0.3 * r)), 1), n - 1)
    if cdiv(n1, cross) + cdiv(n - n1, cross) > slots:
        columns = cdiv(n, cross)
        r = draw()
        n1 = cross * imin(imax(<int>rint(columns * (0.35 + 0.3 * r)), 1), columns - 1)
    first = low + MIN_SPAN * cdiv(n1, cross) - (low == 0)
    last = high - MIN_SPAN * cdiv(n - n1, cross) + (high == size - 1)
    target = low + fdiv((high - low) * n1, n)
    jitter = fdiv(last - first, 6)
    r = draw()
    line = target - jitter + <int>(r * (2 * jitter + 1))
    line_out[0] = imin(imax(line, first), last)
    return n1


def plan_layout(spec, dice):
    """``layout.plan_layout``: the same regions from the same draws of ``dice``, for a
    spec the core takes (``pipeline._compilable``: 1 to 2,000 rooms, sides 16 to 512)."""
    from levelforge.generation.blueprint import Layout, Rect
    cdef int W = spec["width"], H = spec["height"], n = spec["rooms"]
    cdef int cap = 2 * n + 2, top = cap, done = 0, count, x0, y0, x1, y1, ax, ay, w, h, n1, line, i
    if n < 1:
        raise Fallback("no rooms")
    if fdiv(W + 1, MIN_SPAN) * fdiv(H + 1, MIN_SPAN) < n:
        raise ValueError(f"{n} regions do not fit in {W}x{H}")
    draw = dice.random
    cdef int* r = <int*>PyMem_Malloc(5 * cap * sizeof(int))
    cdef Key3* keys = <Key3*>PyMem_Malloc(cap * sizeof(Key3))
    try:
        if r == NULL or keys == NULL:
            raise MemoryError()
        top -= 1
        r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4] = 0, 0, W - 1, H - 1, n
        while top < cap:
            x0, y0, x1, y1, count = r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4]
            top += 1
            if count == 1:
                if done >= top:
                    raise AssertionError("a layout the split cannot make")
                r[5 * done], r[5 * done + 1], r[5 * done + 2], r[5 * done + 3] = x0, y0, x1, y1
                done += 1
                continue
            ax = fdiv(x1 - x0 + (x0 == 0) + (x1 == W - 1), MIN_SPAN)
            ay = fdiv(y1 - y0 + (y0 == 0) + (y1 == H - 1), MIN_SPAN)
            w, h = x1 - x0 + 1, y1 - y0 + 1
            if top - 2 < done or ay < 1 or ax < 1:
                raise AssertionError("a layout the split cannot make")
            if ax >= 2 and (ay < 2 or draw() < <double>(w * w) / <double>(w * w + h * h)):
                n1 = cut_with(draw, x0, x1, W, ay, count, &line)
                top -= 1
                r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4] = x0, y0, line, y1, n1
                top -= 1
                r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4] = (
                    line, y0, x1, y1, count - n1)
            else:
                n1 = cut_with(draw, y0, y1, H, ax, count, &line)
                top -= 1
                r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4] = x0, y0, x1, line, n1
                top -= 1
                r[5 * top], r[5 * top + 1], r[5 * top + 2], r[5 * top + 3], r[5 * top + 4] = (
                    x0, line, x1, y1, count - n1)
        for i in range(done):
            keys[i].k1, keys[i].k2, keys[i].index = r[5 * i + 1], r[5 * i], i
        qsort(keys, done, sizeof(Key3), cmp_key3)
        regions = tuple([_tuple_new(Rect, (r[5 * keys[i].index], r[5 * keys[i].index + 1],
                                           r[5 * keys[i].index + 2], r[5 * keys[i].index + 3]))
                         for i in range(done)])
    finally:
        PyMem_Free(r)
        PyMem_Free(keys)
    return Layout(W, H, regions)


# ---------------------------------------------------------------- a designed level's contents

cdef object _contents = None
cdef long long UNBOUNDED = 10 ** 9  # contents.UNBOUNDED: a range with no maximum


cdef object contents_module():
    """``generation.contents``, imported when first needed (its records and rules)."""
    global _contents
    if _contents is None:
        from levelforge.generation import contents
        _contents = contents
    return _contents


cdef struct Links:
    int* start  # room r's links are at, …, start[r + 1] - 1
    int* other
    int* corridor


cdef int links_of(Links* g, object corridors, int n) except -1:
    """``graph.room_links`` as arrays: each room's (neighbour, corridor), in its order."""
    cdef int m = len(corridors), i, a, b
    cdef int* fill
    g.start = <int*>PyMem_Calloc(n + 1, sizeof(int))
    g.other = <int*>PyMem_Malloc((2 * m + 1) * sizeof(int))
    g.corridor = <int*>PyMem_Malloc((2 * m + 1) * sizeof(int))
    fill = <int*>PyMem_Calloc(n + 1, sizeof(int))
    if g.start == NULL or g.other == NULL or g.corridor == NULL or fill == NULL:
        PyMem_Free(fill)
        raise MemoryError()
    try:
        for i in range(m):
            corridor = corridors[i]
            fields(corridor, 8)
            index_in(field(corridor, 0), m)
            index_in(field(corridor, 1), n)
            index_in(field(corridor, 2), n)
            g.start[<int>field(corridor, 1) + 1] += 1
            g.start[<int>field(corridor, 2) + 1] += 1
        for i in range(n):
            g.start[i + 1] += g.start[i]
        for corridor in corridors:
            i, a, b = field(corridor, 0), field(corridor, 1), field(corridor, 2)
            g.other[g.start[a] + fill[a]], g.corridor[g.start[a] + fill[a]] = b, i
            fill[a] += 1
            g.other[g.start[b] + fill[b]], g.corridor[g.start[b] + fill[b]] = a, i
            fill[b] += 1
    finally:
        PyMem_Free(fill)
    return 0


cdef void links_free(Links* g) noexcept:
    PyMem_Free(g.start)
    PyMem_Free(g.other)
    PyMem_Free(g.corridor)


cdef int reach(Links* g, int n, int start, const unsigned char* shut, int* queue) except -1:
    """``contents._reach``: the rooms reached from ``start`` along corridors not ``shut``,
    into ``queue`` in the order reached; their count. (With ``shut`` NULL, every corridor.)"""
    cdef int head = 0, count = 1, room, j, other
    cdef unsigned char* seen = <unsigned char*>PyMem_Calloc(n, 1)
    if seen == NULL:
        raise MemoryError()
    queue[0] = start
    seen[start] = 1
    while head < count:
        room = queue[head]
        head += 1
        for j in range(g.start[room], g.start[room + 1]):
            other = g.other[j]
            if not seen[other] and (shut == NULL or not shut[g.corridor[j]]):
                seen[other] = 1
                queue[count] = other
                count += 1
    PyMem_Free(seen)
    return count


cdef inline double draw_of(object dice, MT* mt) except? -1.0:
    return mt_random(mt) if mt != NULL else dice.random()


cdef MT* mt_of(object dice):
    """The core's own MT19937 of ``dice`` (``Dice``), or NULL (draw through ``random``)."""
    return &(<Dice>dice).mt if type(dice) is Dice else NULL


cdef list random_order(list values, object dice, MT* mt):
    """``values.sort(key=lambda _: random())``: a draw each, in order; sorted by the
    draws, stably."""
    cdef Py_ssize_t n = len(values), i
    if n == 0:
        return []
    cdef KeyD* keys = <KeyD*>PyMem_Malloc(n * sizeof(KeyD))
    if keys == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            keys[i].k, keys[i].index = draw_of(dice, mt), i
        qsort(keys, n, sizeof(KeyD), cmp_keyd)
        return [values[keys[i].index] for i in range(n)]
    finally:
        PyMem_Free(keys)


cdef bint asked_range(spec, str name, long long* low, long long* high) except -1:
    """``contents.asked``: whether the spec asks a range of ``name``, and which."""
    bounds = spec.get("constraints", {}).get(name)
    if bounds is None:
        return False
    low[0], high[0] = bounds.get("min", 0), bounds.get("max", UNBOUNDED)
    return True


cdef int room_area(object room) except -1:
    """``Room.area``: its floor tiles."""
    floor, spans = field(room, 2), field(room, 3)
    cdef int x0 = field(floor, 0), y0 = field(floor, 1), x1 = field(floor, 2), y1 = field(floor, 3)
    cdef int area = 0
    if spans is None:
        return (x1 - x0 + 1) * (y1 - y0 + 1)
    for first, last in spans:
        area += <int>last - <int>first + 1
    return area


cdef inline long long in_range(long long natural, bint asked, long long low, long long high) noexcept:
    """``contents._in_range``."""
    return natural if not asked else (low if natural < low else (high if natural > high else natural))


def place_doors(network):
    """``doors.place_doors``: the same doors, in the same order."""
    Door = contents_module().Door
    doors = {}
    for corridor in network.corridors:
        index, a, b, door_a, door_b = (field(corridor, 0), field(corridor, 1), field(corridor, 2),
                                       field(corridor, 3), field(corridor, 4))
        if door_a not in doors:
            doors[door_a] = _tuple_new(Door, (len(doors), door_a, a, index, None))
        if door_b not in doors:
            doors[door_b] = _tuple_new(Door, (len(doors), door_b, b, index, None))
    return tuple(doors.values())


def place_designed_keys(rooms, network, doors, path, prefab_of, spec, dice):
    """``contents.place_designed_keys``: the same entrance, exit, locks and keys from the
    same draws."""
    c = contents_module()
    Door, Item = c.Door, c.Item
    cdef int n = len(rooms), nc = len(network.corridors), entrance = path[0], exit_room = path[len(path) - 1]
    cdef int number, i, j, k, count, home, nfresh
    cdef Links g
    cdef MT* mt = mt_of(dice)
    cdef int* queue = NULL
    cdef int* distance = NULL
    cdef int* taken_n = NULL
    cdef unsigned char* shut = NULL
    cdef unsigned char* flags = NULL  # 1 prefab, 2 on the path, 4 opened
    memset(&g, 0, sizeof(Links))
    try:
        numbered(rooms)
        links_of(&g, network.corridors, n)
        for room in (*path, *prefab_of):
            index_in(room, n)
        queue = <int*>PyMem_Malloc((n + 1) * sizeof(int))
        distance = <int*>PyMem_Malloc((n + 1) * sizeof(int))
        taken_n = <int*>PyMem_Calloc(n + 1, sizeof(int))
        shut = <unsigned char*>PyMem_Calloc(nc + 1, 1)
        flags = <unsigned char*>PyMem_Calloc(n + 1, 1)
        if queue == NULL or distance == NULL or taken_n == NULL or shut == NULL or flags == NULL:
            raise MemoryError()
        taken = {}
        taken[entrance] = set()
        entrance_pos = pick_tile(rooms[entrance], taken[entrance], dice)
        taken_n[entrance] += 1
        if exit_room not in taken:
            taken[exit_room] = set()
        exit_pos = pick_tile(rooms[exit_room], taken[exit_room], dice)
        taken_n[exit_room] += 1
        for i in range(n):
            distance[i] = -1
        distance[entrance] = 0
        count = reach(&g, n, entrance, NULL, queue)
        for i in range(count):  # breadth first: a room one corridor farther than its finder
            j = queue[i]
            for k in range(g.start[j], g.start[j + 1]):
                if distance[g.other[k]] < 0:
                    distance[g.other[k]] = distance[j] + 1
        distance_t = tuple([distance[i] for i in range(n)])
        locked = doors_to_lock(network, doors, path, prefab_of, spec, dice, mt)
        locked.sort(key=lambda index: (distance_t[field(doors[index], 2)], index))
        blocked = {}
        for corridor in network.corridors:
            blocked.setdefault(field(corridor, 3), []).append(field(corridor, 0))
            blocked.setdefault(field(corridor, 4), []).append(field(corridor, 0))
        shut_by = [blocked[field(doors[index], 1)] for index in locked]
        new_doors = list(doors)
        keys = []
        for room in prefab_of:
            flags[<int>room] |= 1
        for room in path:
            flags[<int>room] |= 2
        areas = [room_area(room) for room in rooms] if locked else []
        for number in range(len(locked)):
            memset(shut, 0, nc + 1)
            for corridors in shut_by[number:]:
                for corridor in corridors:
                    shut[<int>corridor] = 1
            count = reach(&g, n, entrance, shut, queue)
            homes = [queue[i] for i in range(count)
                     if not flags[queue[i]] & 1 and <int>areas[queue[i]] - taken_n[queue[i]] >= 2]
            sides = [room for room in homes if not flags[<int>room] & 2]
            fresh = [room for room in sides if not flags[<int>room] & 4] or sides or homes or [entrance]
            nfresh = len(fresh)
            home = fresh[<int>(draw_of(dice, mt) * nfresh)]
            index = locked[number]
            door = new_doors[index]
            new_doors[index] = _tuple_new(
                Door, (index, field(door, 1), field(door, 2), field(door, 3), number))
            if home not in taken:
                taken[home] = set()
            pos = pick_tile(rooms[home], taken[home], dice)
            taken_n[home] += 1
            keys.append(_tuple_new(Item, (number, "key", home, pos, (index,))))
            for i in range(n):
                flags[i] &= 3
            for i in range(count):
                flags[queue[i]] |= 4
        return c.Locks(
            _tuple_new(c.Marker, (entrance, entrance_pos)),
            _tuple_new(c.Marker, (exit_room, exit_pos)),
            tuple(path),
            tuple(range(len(path) - 1)),
            distance_t,
            tuple(new_doors),
            tuple(keys),
        )
    finally:
        links_free(&g)
        PyMem_Free(queue)
        PyMem_Free(distance)
        PyMem_Free(taken_n)
        PyMem_Free(shut)
        PyMem_Free(flags)


cdef list doors_to_lock(network, doors, path, prefab_of, spec, dice, MT* mt):
    """``contents._doors_to_lock``, the same draws (``keys.lock_count`` written out)."""
    cdef long long natural = 0, target, low, high
    cdef int length = len(path), difficulty
    if spec["rooms"] >= 4:  # keys.MIN_ROOMS_FOR_LOCKS
        difficulty = spec["difficulty"]
        natural = 1 + imin(difficulty // 3 + (spec["theme"] == "crypt"), imax(length - 2, 0) // 2)
    lockable = [field(door, 0) for door in doors if field(door, 2) not in prefab_of]
    cdef bint asked = asked_range(spec, "locks", &low, &high)
    target = min(in_range(natural, asked, low, high), len(lockable))
    if target <= 0:
        return []
    at = {field(door, 1): field(door, 0) for door in doors}
    corridors = network.corridors
    last = corridors[length - 2]
    first = [at[field(last, 3) if field(last, 1) == path[length - 1] else field(last, 4)]]
    along = []
    for i in range(1, length - 1):
        room = path[i]
        if room not in prefab_of:
            way = corridors[i - 1]
            along.append(at[field(way, 3) if field(way, 1) == room else field(way, 4)])
    along = random_order(along, dice, mt)
    picked = {*first, *along}
    rest = random_order([index for index in lockable if index not in picked], dice, mt)
    return list(dict.fromkeys(first + along + rest))[:target]


def place_designed_enemies(rooms, network, locks, prefab_of, spec, dice):
    """``contents.place_designed_enemies``: the same enemies and treasure from the same
    draws."""
    c = contents_module()
    cdef int n = len(rooms), entrance = locks.entrance.room, exit_room = locks.exit.room
    cdef int index, area, used, whole, drawn_enemies, most, target
    cdef bint boss
    cdef double per_tile, expected
    cdef MT* mt = mt_of(dice)
    numbered(rooms)
    if len(locks.distance) != n:
        raise ValueError("distances of other rooms")
    taken = c._taken_tiles(locks)
    things = {room: prefab.things() for room, prefab in prefab_of.items()}
    cdef int drawn_e = 0, drawn_t = 0, drawn_b = 0
    for drawing in things.values():
        for thing in drawing:
            char = thing[2]
            if char == "e":
                drawn_e += 1
            elif char == "$":
                drawn_t += 1
            else:
                drawn_b += 1
    areas = [room_area(room) for room in rooms]
    treasures = treasure_counts(rooms, areas, network, locks, prefab_of, spec, taken, drawn_t, dice, mt)
    cdef long long low, high
    cdef bint ranged = asked_range(spec, "enemies", &low, &high)
    drawn_enemies = drawn_e + drawn_b
    boss = not drawn_b and exit_room != entrance and (high if ranged else UNBOUNDED) >= drawn_enemies + 1
    per_tile = spec["difficulty"] / 250.0  # enemies.TILES_PER_ENEMY_AT_DIFFICULTY_1
    counts = [0] * n
    room_space = [0] * n
    for room in rooms:
        index = field(room, 0)
        if index == entrance or index in prefab_of:
            continue
        area = areas[index]
        used = len(taken.get(index, ())) + (boss and index == exit_room) + <int>treasures[index]
        room_space[index] = imax(area - used, 0)
        expected = area * per_tile
        whole = <int>expected
        whole += draw_of(dice, mt) < expected - whole
        counts[index] = imax(imin(whole, fdiv(area - used - 1, 2)), 0)
    if ranged:
        target = in_range(sum(counts) + drawn_enemies + boss, True, low, high) - drawn_enemies - boss
        adjust(counts, room_space, imax(target, 0), dice, mt)
    enemies = place_enemies_of(rooms, locks, things, counts, taken, spec, boss, dice, mt)
    items = place_treasures_of(rooms, things, treasures, taken, dice)
    return c.Population(tuple(enemies), tuple(items))


cdef list treasure_counts(rooms, areas, network, locks, prefab_of, spec, taken, int drawn, dice, MT* mt):
    """``contents._treasure_counts``, the same draws."""
    c = contents_module()
    cdef int n = len(rooms), index, target, side_total = 0
    cdef long long low, high
    corridors = [0] * n
    for corridor in network.corridors:
        corridors[field(corridor, 1)] += 1
        corridors[field(corridor, 2)] += 1
    on_path = set(locks.critical_path)
    counts = [0] * n
    for room in rooms:
        index = field(room, 0)
        if index in on_path or index in prefab_of:
            continue
        if corridors[index] > 1 and not draw_of(dice, mt) < 0.35:  # enemies.SIDE_ROOM_TREASURE_CHANCE
            continue
        counts[index] = 1
    if not asked_range(spec, "treasures", &low, &high):
        return counts
    space = []
    for room in rooms:
        index = field(room, 0)
        space.append(0 if index in prefab_of else imax(<int>areas[index] - len(taken.get(index, ())) - 2, 0))
    target = in_range(sum(counts) + drawn, True, low, high) - drawn
    sides = [0 if field(room, 0) in on_path else space[field(room, 0)] for room in rooms]
    for s in sides:
        side_total += imin(s, 2)
    adjust(counts, sides if side_total >= target else space, imax(target, 0), dice, mt)
    return counts


cdef int adjust(list counts, list space, int target, object dice, MT* mt) except -1:
    """``contents._adjust``: one at a time to ``target``, where the most space is left
    (adding) or the most are (taking); ties by a draw each, the first of equals."""
    cdef int n = len(counts), r, best, total = 0, have
    cdef double* ties = <double*>PyMem_Malloc((n + 1) * sizeof(double))
    cdef int* count = <int*>PyMem_Malloc((n + 1) * sizeof(int))
    cdef int* room_space = <int*>PyMem_Malloc((n + 1) * sizeof(int))
    if ties == NULL or count == NULL or room_space == NULL:
        PyMem_Free(ties)
        PyMem_Free(count)
        PyMem_Free(room_space)
        raise MemoryError()
    try:
        for r in range(n):
            ties[r] = draw_of(dice, mt)
            count[r] = counts[r]
            room_space[r] = space[r]
            total += count[r]
        while total < target:
            best = 0
            for r in range(1, n):
                have = room_space[r] - count[r]
                if have > room_space[best] - count[best] or (
                        have == room_space[best] - count[best] and ties[r] > ties[best]):
                    best = r
            if room_space[best] - count[best] <= 0:
                break
            count[best] += 1
            total += 1
        while total > target:
            best = 0
            for r in range(1, n):
                if count[r] > count[best] or (count[r] == count[best] and ties[r] > ties[best]):
                    best = r
            count[best] -= 1
            total -= 1
        for r in range(n):
            counts[r] = count[r]
    finally:
        PyMem_Free(ties)
        PyMem_Free(count)
        PyMem_Free(room_space)
    return 0


cdef list place_enemies_of(rooms, locks, things, counts, taken, spec, bint boss, dice, MT* mt):
    """``contents._enemies``, the same draws."""
    c = contents_module()
    Enemy = c.Enemy
    common, boss_type = BESTIARY[spec["theme"]]
    cdef int difficulty = spec["difficulty"]
    cdef int lo = imax(difficulty - 2, 1), hi = imin(difficulty + 2, 9)  # enemies.enemy_levels
    cdef int kinds = len(common), farthest = 1, index, base, level, x0, y0, k
    cdef bint pacing = spec.get("constraints", {}).get("pacing") == "rising", wobbles
    distance = locks.distance
    for d in distance:
        farthest = imax(farthest, d)
    on_path = set(locks.critical_path)
    enemies = []
    exit_room = locks.exit.room
    if boss:
        if exit_room not in taken:
            taken[exit_room] = set()
        pos = pick_tile(rooms[exit_room], taken[exit_room], dice)
        enemies.append(_tuple_new(Enemy, (0, boss_type, hi + 1, exit_room, pos, True)))
    for room in rooms:
        index = field(room, 0)
        drawing = things.get(index)
        if drawing is None and not counts[index]:
            continue
        base = lo + fdiv((hi - lo) * <int>distance[index], farthest)
        wobbles = not (pacing and index in on_path)
        if drawing is not None:
            x0, y0 = field(field(room, 2), 0), field(field(room, 2), 1)
            for thing in drawing:
                char = thing[2]
                if char == "B":
                    enemies.append(_tuple_new(Enemy, (len(enemies), boss_type, hi + 1, index,
                                                      (x0 + <int>thing[0], y0 + <int>thing[1]), True)))
                elif char == "e":
                    level = base + (wobbles and draw_of(dice, mt) < 0.4)
                    kind = common[imin(fdiv((level - 1) * kinds, 10), kinds - 1)]
                    enemies.append(_tuple_new(Enemy, (len(enemies), kind, level, index,
                                                      (x0 + <int>thing[0], y0 + <int>thing[1]), False)))
            continue
        if index not in taken:
            taken[index] = set()
        room_taken = taken[index]
        for k in range(<int>counts[index]):
            pos = pick_tile(room, room_taken, dice)
            level = base + (wobbles and draw_of(dice, mt) < 0.4)
            kind = common[imin(fdiv((level - 1) * kinds, 10), kinds - 1)]
            enemies.append(_tuple_new(Enemy, (len(enemies), kind, level, index, pos, False)))
    return enemies


cdef list place_treasures_of(rooms, things, counts, taken, dice):
    """``contents._treasures``, the same draws."""
    Item = contents_module().Item
    cdef int index, x0, y0, k
    items = []
    for room in rooms:
        index = field(room, 0)
        drawing = things.get(index)
        if drawing is not None:
            x0, y0 = field(field(room, 2), 0), field(field(room, 2), 1)
            for thing in drawing:
                if thing[2] == "$":
                    items.append(_tuple_new(Item, (len(items), "treasure", index,
                                                   (x0 + <int>thing[0], y0 + <int>thing[1]), ())))
            continue
        if counts[index]:
            if index not in taken:
                taken[index] = set()
            room_taken = taken[index]
            for k in range(<int>counts[index]):
                pos = pick_tile(room, room_taken, dice)
                items.append(_tuple_new(Item, (len(items), "treasure", index, pos, ())))
    return items


# ---------------------------------------------------------------- a designed level's plan

def plan_loops(int count, tree, plain, path, int wanted):
    """``design._loops``: the same spare contacts chosen as loops, the longest detours
    first, none making a way to the exit shorter; and how many were spare."""
    cdef int exit_room = path[len(path) - 1], nspare, i, j, a, b, k, length, chosen_n = 0
    cdef int* deg = NULL
    cdef int* start = NULL
    cdef int* fill = NULL
    cdef int* adj = NULL
    cdef int* depth = NULL
    cdef int* parent = NULL
    cdef int* from_start = NULL
    cdef int* from_exit = NULL
    cdef int* chosen = NULL
    cdef KeyD* order = NULL
    cdef IVec queue
    memset(&queue, 0, sizeof(IVec))
    spare = []
    try:
        deg = <int*>PyMem_Calloc(count + 1, sizeof(int))
        start = <int*>PyMem_Calloc(count + 1, sizeof(int))
        fill = <int*>PyMem_Calloc(count + 1, sizeof(int))
        if deg == NULL or start == NULL or fill == NULL:
            raise MemoryError()
        for room in path:
            index_in(room, count)
        for c in (*tree, *plain):
            index_in(field(c, 0), count)
            index_in(field(c, 1), count)
        for c in tree:  # room for the tree's links and every plain contact's, were it a loop
            deg[<int>field(c, 0)] += 1
            deg[<int>field(c, 1)] += 1
        for c in plain:
            deg[<int>field(c, 0)] += 1
            deg[<int>field(c, 1)] += 1
        for i in range(count):
            start[i + 1] = start[i] + deg[i]
        adj = <int*>PyMem_Malloc((start[count] + 1) * sizeof(int))
        if adj == NULL:
            raise MemoryError()
        for c in tree:  # links[a].append(b); links[b].append(a), in the tree's order
            a, b = field(c, 0), field(c, 1)
            adj[start[a] + fill[a]] = b
            fill[a] += 1
            adj[start[b] + fill[b]] = a
            fill[b] += 1
        for c in plain:
            a, b = field(c, 0), field(c, 1)
            if a == exit_room or b == exit_room:
                continue
            for j in range(start[a], start[a] + fill[a]):  # in the tree (``_pairs(tree)``)
                if adj[j] == b:
                    break
            else:
                spare.append(c)
        nspare = len(spare)
        if wanted <= 0 or nspare == 0:
            return [], nspare
        depth = <int*>PyMem_Malloc((count + 1) * sizeof(int))
        parent = <int*>PyMem_Malloc((count + 1) * sizeof(int))
        from_start = <int*>PyMem_Malloc((count + 1) * sizeof(int))
        from_exit = <int*>PyMem_Malloc((count + 1) * sizeof(int))
        chosen = <int*>PyMem_Malloc((nspare + 1) * sizeof(int))
        order = <KeyD*>PyMem_Malloc((nspare + 1) * sizeof(KeyD))
        if (depth == NULL or parent == NULL or from_start == NULL or from_exit == NULL
                or chosen == NULL or order == NULL):
            raise MemoryError()
        bfs(start, fill, adj, count, 0, depth, parent, &queue)  # connect._rooted_links
        length = len(path) - 1
        bfs(start, fill, adj, count, path[0], from_start, NULL, &queue)
        bfs(start, fill, adj, count, exit_room, from_exit, NULL, &queue)
        for i in range(nspare):
            c = spare[i]
            a, b = field(c, 0), field(c, 1)
            k = 0  # connect._tree_distance
            while depth[a] > depth[b]:
                a, k = parent[a], k + 1
            while depth[b] > depth[a]:
                b, k = parent[b], k + 1
            while a != b:
                a, b, k = parent[a], parent[b], k + 2
            order[i].k, order[i].index = -k, i
        qsort(order, nspare, sizeof(KeyD), cmp_keyd)
        for i in range(nspare):
            c = spare[order[i].index]
            a, b = field(c, 0), field(c, 1)
            if imin(from_start[a] + from_exit[b], from_start[b] + from_exit[a]) + 1 <= length:
                continue
            chosen[chosen_n] = order[i].index
            chosen_n += 1
            adj[start[a] + fill[a]] = b
            fill[a] += 1
            adj[start[b] + fill[b]] = a
            fill[b] += 1
            relax(start, fill, adj, from_start, a, b, &queue)
            relax(start, fill, adj, from_exit, a, b, &queue)
            if chosen_n == wanted:
                break
        for i in range(chosen_n):
            order[i].k, order[i].index = chosen[i], i
        qsort(order, chosen_n, sizeof(KeyD), cmp_keyd)
        return [spare[<int>order[i].k] for i in range(chosen_n)], nspare
    finally:
        PyMem_Free(deg)
        PyMem_Free(start)
        PyMem_Free(fill)
        PyMem_Free(adj)
        PyMem_Free(depth)
        PyMem_Free(parent)
        PyMem_Free(from_start)
        PyMem_Free(from_exit)
        PyMem_Free(chosen)
        PyMem_Free(order)
        iv_free(&queue)


cdef int bfs(int* start, int* fill, int* adj, int count, int first, int* far, int* parent,
             IVec* queue) except -1:
    """Breadth first over the links from ``first``: ``far`` the steps (-1 unreached), and
    ``parent`` (unless NULL) the room each was reached from (-1 for ``first``)."""
    cdef int i, j, room, other
    for i in range(count):
        far[i] = -1
        if parent != NULL:
            parent[i] = -1
    far[first] = 0
    queue.n = 0
    iv_push(queue, first)
    i = 0
    while i < queue.n:
        room = queue.d[i]
        i += 1
        for j in range(start[room], start[room] + fill[room]):
            other = adj[j]
            if far[other] < 0:
                far[other] = far[room] + 1
                if parent != NULL:
                    parent[other] = room
                iv_push(queue, other)
    return 0


cdef int relax(int* start, int* fill, int* adj, int* far, int a, int b, IVec* queue) except -1:
    """``design._relax``: lower ``far`` after links were added at ``a`` and ``b``."""
    cdef int i = 0, j, room, other
    queue.n = 0
    iv_push(queue, a)
    iv_push(queue, b)
    while i < queue.n:
        room = queue.d[i]
        i += 1
        for j in range(start[room], start[room] + fill[room]):
            other = adj[j]
            if far[room] + 1 < far[other]:
                far[other] = far[room] + 1
                iv_push(queue, other)
    return 0


cdef object _design = None


cdef object design_module():
    """``generation.design``, imported when first needed (its ``Unmet``)."""
    global _design
    if _design is None:
        from levelforge.generation import design
        _design = design
    return _design


cdef enum:
    SIDE_E = 1
    SIDE_W = 2
    SIDE_S = 4
    SIDE_N = 8
    A_COPY = 16  # with its door sides, in ``assign_copies``' mask of a region a copy holds


cdef int side_mask(object sides) except -1:
    """A prefab's door sides (``Prefab.door_sides``) as bits."""
    cdef int mask = 0
    for side in sides:
        mask |= SIDE_E if side == "E" else SIDE_W if side == "W" else SIDE_S if side == "S" else SIDE_N
    return mask


cdef struct Near:
    int* start  # region r's contacts are at start[r] … start[r + 1] - 1, in their order
    int* a
    int* b
    unsigned char* vertical


cdef inline bint faces(Near* near, int j, int region, int mask) noexcept:
    """Whether contact ``j`` leaves ``region`` on one of the sides ``mask`` (``_facing``)."""
    if near.a[j] == region:
        return (mask & (SIDE_E if near.vertical[j] else SIDE_S)) != 0
    return (mask & (SIDE_W if near.vertical[j] else SIDE_N)) != 0


cdef inline int across_of(Near* near, int j, int region) noexcept:
    return near.b[j] if near.a[j] == region else near.a[j]


def assign_copies(layout, contacts, copies, dice, placed=None):
    """``design._assign``: the same region for every copy, from the same draws."""
    regions = layout.regions
    cdef int n = len(regions), W = layout.width, H = layout.height, m = len(contacts), i, j, r, k
    cdef int needed, mask, count, stamp = 0, place, chosen, fallback, inside_w, inside_h, x0, y0, x1, y1
    cdef bint critical, kept
    cdef MT* mt = mt_of(dice)
    prefab_of = dict(placed or {})
    if not copies:
        return prefab_of
    cdef Near near
    memset(&near, 0, sizeof(Near))
    cdef int* fill = NULL
    cdef int* mark = NULL
    cdef int* copy_mask = NULL  # a placed copy's door sides, 0 for an ordinary region
    cdef unsigned char* copy_critical = NULL
    cdef unsigned char* copy_walks = NULL
    cdef int* queue = NULL
    try:
        near.start = <int*>PyMem_Calloc(n + 1, sizeof(int))
        near.a = <int*>PyMem_Malloc((2 * m + 1) * sizeof(int))
        near.b = <int*>PyMem_Malloc((2 * m + 1) * sizeof(int))
        near.vertical = <unsigned char*>PyMem_Malloc(2 * m + 1)
        fill = <int*>PyMem_Calloc(n + 1, sizeof(int))
        mark = <int*>PyMem_Calloc(n + 1, sizeof(int))
        copy_mask = <int*>PyMem_Calloc(n + 1, sizeof(int))
        copy_critical = <unsigned char*>PyMem_Calloc(n + 1, 1)
        copy_walks = <unsigned char*>PyMem_Calloc(n + 1, 1)
        queue = <int*>PyMem_Malloc((n + 1) * sizeof(int))
        if (near.start == NULL or near.a == NULL or near.b == NULL or near.vertical == NULL or fill == NULL
                or mark == NULL or copy_mask == NULL or copy_critical == NULL or copy_walks == NULL
                or queue == NULL):
            raise MemoryError()
        for room in prefab_of:
            index_in(room, n)
        for c in contacts:
            index_in(field(c, 0), n)
            index_in(field(c, 1), n)
        for c in contacts:  # ``_by_room``: each region's contacts in their order
            near.start[<int>field(c, 0) + 1] += 1
            near.start[<int>field(c, 1) + 1] += 1
        for r in range(n):
            near.start[r + 1] += near.start[r]
        for c in contacts:
            for k in range(2):
                r = field(c, k)
                j = near.start[r] + fill[r]
                near.a[j], near.b[j], near.vertical[j] = field(c, 0), field(c, 1), field(c, 2)
                fill[r] += 1
        faced = {}
        for room, prefab in prefab_of.items():
            note_copy(room, prefab, copy_mask, copy_critical, copy_walks)
            faced[room] = facing_rooms(&near, room, copy_mask[room])
        for prefab in copies:
            critical = prefab.placement == "critical"
            needed = 2 if critical else 1
            mask = side_mask(prefab.door_sides)
            inside_w, inside_h = prefab.inside
            fits = []
            for i in range(n):
                if copy_mask[i]:
                    continue
                region = regions[i]
                x0, y0, x1, y1 = field(region, 0), field(region, 1), field(region, 2), field(region, 3)
                if ((x1 - (1 if x1 == W - 1 else 2)) - (x0 + (1 if x0 == 0 else 2)) + 1 >= inside_w
                        and (y1 - (1 if y1 == H - 1 else 2)) - (y0 + (1 if y0 == 0 else 2)) + 1 >= inside_h):
                    fits.append(i)
            fitting = []
            for i in fits:  # across its door sides, regions not yet a copy's
                stamp += 1
                count = 0
                for j in range(near.start[i], near.start[i + 1]):
                    if faces(&near, j, i, mask):
                        r = across_of(&near, j, i)
                        if not copy_mask[r] and mark[r] != stamp:
                            mark[r] = stamp
                            count += 1
                if count >= needed:
                    fitting.append(i)
            if not fitting:  # ``_open_to``: or copies beside it that may be walked too
                for i in fits:
                    stamp += 1
                    count = 0
                    for j in range(near.start[i], near.start[i + 1]):
                        if not faces(&near, j, i, mask):
                            continue
                        r = across_of(&near, j, i)
                        if mark[r] == stamp:
                            continue
                        if not copy_mask[r] or (
                                critical and copy_walks[r] and faces(&near, j, r, copy_mask[r])):
                            mark[r] = stamp
                            count += 1
                    if count >= needed:
                        fitting.append(i)
            fitting = random_order(fitting, dice, mt)
            chosen = fallback = -1
            for i in fitting:  # rather a region leaving the copies placed before their rooms
                kept = leaves_open(faced, copy_mask, copy_critical, i)
                if (kept or fallback < 0) and keeps_joined(&near, n, copy_mask, copy_critical, critical, i,
                                                          queue, mark, &stamp):
                    if kept:
                        chosen = i
                        break
                    fallback = i
            place = chosen if chosen >= 0 else fallback
            if place < 0:
                raise design_module().Unmet(
                    "prefabs", f"no region of the layout fits prefab {prefab.name!r} with a door onto another"
                )
            prefab_of[place] = prefab
            note_copy(place, prefab, copy_mask, copy_critical, copy_walks)
            faced[place] = facing_rooms(&near, place, mask)
        return prefab_of
    finally:
        PyMem_Free(near.start)
        PyMem_Free(near.a)
        PyMem_Free(near.b)
        PyMem_Free(near.vertical)
        PyMem_Free(fill)
        PyMem_Free(mark)
        PyMem_Free(copy_mask)
        PyMem_Free(copy_critical)
        PyMem_Free(copy_walks)
        PyMem_Free(queue)


cdef int note_copy(int room, prefab, int* copy_mask, unsigned char* copy_critical,
                   unsigned char* copy_walks) except -1:
    placement = prefab.placement
    copy_mask[room] = side_mask(prefab.door_sides) | A_COPY
    copy_critical[room] = placement == "critical"
    copy_walks[room] = placement == "critical" or (placement == "any" and prefab.walkable)  # ``_may_walk``
    return 0


cdef list facing_rooms(Near* near, int region, int mask):
    """``_across``: the rooms across ``region``'s contacts on the sides ``mask`` (each once)."""
    out = []
    cdef int j, r
    for j in range(near.start[region], near.start[region + 1]):
        if faces(near, j, region, mask):
            r = across_of(near, j, region)
            if r not in out:
                out.append(r)
    return out


cdef bint leaves_open(dict faced, int* copy_mask, unsigned char* copy_critical, int index) except -1:
    """``_leaves_open``: every copy placed keeps the ordinary rooms across its door sides
    it needs with region ``index`` taken too."""
    cdef int needed, left, r
    for room, facing in faced.items():
        if index in facing:
            needed = 2 if copy_critical[<int>room] else 1
            left = 0
            for other in facing:
                r = other
                if not copy_mask[r] and r != index:
                    left += 1
            if left < needed:
                return False
    return True


cdef bint keeps_joined(Near* near, int n, int* copy_mask, unsigned char* copy_critical, bint critical,
                       int index, int* queue, int* mark, int* stamp) except -1:
    """``_keeps_joined``: the ordinary regions stay joined with a copy in region ``index``
    (copies walked through, ``critical`` ones, join the rooms on their two sides)."""
    cdef int taken = 0, first = -1, r, j, head = 0, count = 1, other
    stamp[0] += 1
    cdef int gone = stamp[0]  # marks a taken region
    for r in range(n):
        if (copy_mask[r] and not copy_critical[r]) or (r == index and not critical):
            mark[r] = gone
            taken += 1
    for r in range(n):
        if mark[r] != gone:
            first = r
            break
    if first < 0:
        raise StopIteration
    stamp[0] += 1
    cdef int seen = stamp[0]
    mark[first] = seen
    queue[0] = first
    while head < count:
        r = queue[head]
        head += 1
        for j in range(near.start[r], near.start[r + 1]):
            other = across_of(near, j, r)
            if mark[other] != seen and mark[other] != gone:
                mark[other] = seen
                queue[count] = other
                count += 1
    return count == n - taken


cdef struct Lists:
    int* start  # list r is at, …, start[r + 1] - 1
    int* item


cdef int lists_of(Lists* g, list lists) except -1:
    """A list of lists of ints as arrays (each list's items in order)."""
    cdef int n = len(lists), r, k = 0
    g.start = <int*>PyMem_Malloc((n + 1) * sizeof(int))
    if g.start == NULL:
        raise MemoryError()
    g.start[0] = 0
    for r in range(n):
        g.start[r + 1] = g.start[r] + len(<list>lists[r])
    g.item = <int*>PyMem_Malloc((g.start[n] + 1) * sizeof(int))
    if g.item == NULL:
        raise MemoryError()
    for r in range(n):
        for x in <list>lists[r]:
            index_in(x, n)
            g.item[k] = x
            k += 1
    return 0


cdef void lists_free(Lists* g) noexcept:
    PyMem_Free(g.start)
    PyMem_Free(g.item)


def plan_backbone(list links, list through, list ordinary, list critical, int target, dice):
    """``design._backbone``: the same route from the same draws."""
    cdef int n = len(links), i, goal, r
    cdef MT* mt = mt_of(dice)
    cdef Lists plain, across
    memset(&plain, 0, sizeof(Lists))
    memset(&across, 0, sizeof(Lists))
    cdef unsigned char* used = NULL  # 1 used, 2 a critical copy
    cdef int* parent = NULL
    cdef int* queue = NULL
    cdef IVec path
    memset(&path, 0, sizeof(IVec))
    try:
        if len(through) != n:
            raise ValueError("links and through of different rooms")
        lists_of(&plain, links)
        lists_of(&across, through)
        for room in (*ordinary, *critical):
            index_in(room, n)
        used = <unsigned char*>PyMem_Calloc(n + 1, 1)
        parent = <int*>PyMem_Malloc((n + 1) * sizeof(int))
        queue = <int*>PyMem_Malloc((n + 1) * sizeof(int))
        if used == NULL or parent == NULL or queue == NULL:
            raise MemoryError()
        r = ordinary[<int>(draw_of(dice, mt) * len(ordinary))]
        iv_push(&path, r)
        used[r] |= 1
        pending = random_order(critical, dice, mt)
        for room in critical:
            used[<int>room] |= 2
        while pending:
            goal = pending.pop()
            if used[goal] & 1:
                continue
            if not route_to(&across, n, path.d[path.n - 1], goal, used, parent, queue, &path):
                return None
        for i in range(2):
            if used[path.d[path.n - 1]] & 2:
                grow(&across, &path, used, <int>path.n + 1, dice, mt, True)
            grow(&plain, &path, used, target, dice, mt, False)
            reverse(&path)
        if used[path.d[0]] & 2 or used[path.d[path.n - 1]] & 2:
            return None
        return [path.d[i] for i in range(path.n)]
    finally:
        lists_free(&plain)
        lists_free(&across)
        PyMem_Free(used)
        PyMem_Free(parent)
        PyMem_Free(queue)
        iv_free(&path)


cdef bint route_to(Lists* g, int n, int start, int goal, unsigned char* used, int* parent, int* queue,
                   IVec* path) except -1:
    """``design._route_to`` from ``start`` (the path's end) to ``goal`` around the rooms
    used, appended to ``path`` and used; whether there is one."""
    cdef int i, head = 0, count = 1, room, other, j, length
    for i in range(n):
        parent[i] = -2  # not reached
    parent[start] = -1
    queue[0] = start
    while head < count:
        room = queue[head]
        head += 1
        for j in range(g.start[room], g.start[room + 1]):
            other = g.item[j]
            if parent[other] != -2 or (used[other] & 1 and other != start):
                continue
            parent[other] = room
            if other == goal:
                length = 0
                room = other
                while room != start:  # the way back, then turned: goal last
                    queue[length] = room
                    length += 1
                    room = parent[room]
                for i in range(length - 1, -1, -1):
                    iv_push(path, queue[i])
                    used[queue[i]] |= 1
                return True
            queue[count] = other
            count += 1
    return False


cdef int grow(Lists* g, IVec* path, unsigned char* used, int target, object dice, MT* mt,
              bint avoid) except -1:
    """``design._grow``: the path's end extended towards ``target`` rooms, each step to the
    free neighbour with the fewest free neighbours, ties by a draw (``avoid``: never onto a
    critical copy)."""
    cdef int end, j, k, room, free_n, best, best_free
    cdef double draw, best_draw
    while path.n < target:
        end = path.d[path.n - 1]
        best = -1
        for j in range(g.start[end], g.start[end + 1]):
            room = g.item[j]
            if used[room] & 1 or (avoid and used[room] & 2):
                continue
            free_n = 0
            for k in range(g.start[room], g.start[room + 1]):
                free_n += not (used[g.item[k]] & 1)
            draw = draw_of(dice, mt)
            if best < 0 or free_n < best_free or (free_n == best_free and (
                    draw < best_draw or (draw == best_draw and room < best))):
                best, best_free, best_draw = room, free_n, draw
        if best < 0:
            return 0
        iv_push(path, best)
        used[best] |= 1
    return 0


cdef void reverse(IVec* v) noexcept:
    cdef Py_ssize_t i = 0, j = v.n - 1
    while i < j:
        v.d[i], v.d[j] = v.d[j], v.d[i]
        i += 1
        j -= 1


def plan_tree(layout, path, by_pair, plain, prefab_of, door_contacts, dice):
    """``design._tree``: the same contacts of the tree (``_walkable`` and ``_hooks``, for
    the copies, called there)."""
    d = design_module()
    if prefab_of and not d._walkable(layout, path, by_pair, prefab_of):
        return None
    cdef int count = len(layout.regions), n = len(path), i, a, b, ra, rb, first, exit_room = path[n - 1]
    tree = [by_pair[path[i], path[i + 1]] for i in range(n - 1)]
    cdef int* parent = <int*>PyMem_Malloc((count + 1) * sizeof(int))
    if parent == NULL:
        raise MemoryError()
    try:
        for room in path:
            index_in(room, count)
        for c in plain:
            index_in(field(c, 0), count)
            index_in(field(c, 1), count)
        for i in range(count):
            parent[i] = i
        first = find_root(parent, path[0])
        for i in range(n):
            parent[find_root(parent, path[i])] = first
        for c in plain:
            a, b = field(c, 0), field(c, 1)
            if a == exit_room or b == exit_room:
                continue
            ra, rb = find_root(parent, a), find_root(parent, b)
            if ra != rb:
                parent[ra] = rb
                tree.append(c)
        first = find_root(parent, path[0])
        for i in range(count):
            if find_root(parent, i) != first and i not in prefab_of:
                return None
    finally:
        PyMem_Free(parent)
    if not prefab_of:
        return tree
    hooks = d._hooks(path, prefab_of, door_contacts, dice)
    return None if hooks is None else tree + hooks


cdef inline int find_root(int* parent, int node) noexcept:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node
