/*
 * ptrmap.c — a small hash map from addresses to two words, for the places
 * that must answer "is this one of ours?" about any pointer value without
 * reading memory it might not own: large blocks (large.c) and the system
 * allocator mode (system.c).
 *
 * Open addressing with linear probing; key 0 marks an empty slot and key 1
 * a deleted one. The table doubles when live plus deleted entries reach 3/4
 * of it, and rehashing drops the deleted ones. Storage is mapped through
 * os.c, so it shows in bytes_mapped and fails cleanly under the OOM hook.
 */
#include <errno.h>
#include <string.h>

#include "internal/heap.h"

enum { KEY_EMPTY = 0, KEY_DELETED = 1 };

static size_t slot_of(uintptr_t key, size_t cap) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static bool rehash(rc_ptrmap *m, size_t cap) {
    size_t bytes = cap * sizeof(rc_ptrmap_entry);
    size_t page = _rc_os_page_size();
    bytes = (bytes + page - 1) & ~(page - 1);
    rc_ptrmap_entry *slots = _rc_os_map_aligned(bytes, page);
    if (!slots) return false;
    for (size_t i = 0; i < m->cap; i++) {
        rc_ptrmap_entry *e = &m->slots[i];
        if (e->key <= KEY_DELETED) continue;
        size_t j = slot_of(e->key, cap);
        while (slots[j].key != KEY_EMPTY) j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    if (m->slots) {
        size_t old = (m->cap * sizeof(rc_ptrmap_entry) + page - 1) & ~(page - 1);
        _rc_os_unmap(m->slots, old);
    }
    m->slots = slots;
    m->cap = cap;
    m->deleted = 0;
    return true;
}

bool _rc_ptrmap_reserve(rc_ptrmap *m) {
    size_t want = m->count + m->pending + 1;
    if ((want + m->deleted) * 4 >= m->cap * 3) {
        size_t cap = m->cap ? m->cap : 256;
        while (want * 2 >= cap) cap *= 2;
        if (!rehash(m, cap)) {
            errno = ENOMEM;
            return false;
        }
    }
    m->pending++;
    return true;
}

void _rc_ptrmap_cancel(rc_ptrmap *m) { m->pending--; }

rc_ptrmap_entry *_rc_ptrmap_get(const rc_ptrmap *m, uintptr_t key) {
    if (m->cap == 0 || key <= KEY_DELETED) return NULL;
    for (size_t j = slot_of(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        rc_ptrmap_entry *e = &m->slots[j];
        if (e->key == key) return e;
        if (e->key == KEY_EMPTY) return NULL;
    }
}

void _rc_ptrmap_put(rc_ptrmap *m, uintptr_t key, size_t a, size_t b) {
    size_t j = slot_of(key, m->cap);
    while (m->slots[j].key > KEY_DELETED) j = (j + 1) & (m->cap - 1);
    if (m->slots[j].key == KEY_DELETED) m->deleted--;
    m->slots[j] = (rc_ptrmap_entry){key, a, b};
    m->count++;
    m->pending--;
}

bool _rc_ptrmap_find(pthread_mutex_t *lock, const rc_ptrmap *m, uintptr_t key, size_t *a) {
    pthread_mutex_lock(lock);
    rc_ptrmap_entry *e = _rc_ptrmap_get(m, key);
    if (e && a) *a = e->a;
    pthread_mutex_unlock(lock);
    return e != NULL;
}

void _rc_ptrmap_del(rc_ptrmap *m, rc_ptrmap_entry *e) {
    e->key = KEY_DELETED;
    m->count--;
    m->deleted++;
}
