/*
 * dot.c — pictures of references (objgraph.show_refs / show_backrefs) in
 * Graphviz's DOT language, rendered to SVG or PNG by Graphviz's dot when
 * the path asks for it, as objgraph does.
 *
 * From the reference index (refgraph.c), a breadth-first search from the
 * given objects, over referents (refs) or referrers (backrefs), up to
 * max_depth references away. Each object reached is a node labelled with
 * its type name and its rc_repr (cut at 60 code points, escaped for a DOT
 * string); a node closer than max_depth is expanded: an edge to (refs) or
 * from (backrefs) each neighbour, labelled by the referring object's
 * type->field_name when the type has one (the built-in list, tuple and
 * dict name their slots "[3]", "['key']", as Python prints them). Nodes
 * are named o<node index>,
 * so a node appears once however many paths reach it. The given objects
 * are filled red; in a backrefs picture, the roots (objects held from
 * outside the heap, see refgraph.c) have a double border, since they are
 * where the answer to "why is this alive" ends.
 *
 * rc_repr runs user code and makes objects: automatic collection is held
 * off while the labels are written, so that no object of the picture is
 * freed under it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "internal/prof_objgraph.h"

extern char **environ;

#define LABEL_MAX 60

void _rc_objgraph_repr(const void *obj, char *buf, size_t len, size_t max) {
    void *r = rc_repr(obj);
    const char *s = r ? rc_str_cstr(r) : NULL;
    if (!s) {
        snprintf(buf, len, "?");
        _rc_set_error("%s", "");
        rc_decref(r);
        return;
    }
    size_t i = 0, cps = 0;
    while (s[i] && cps < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80) i++; /* continuation bytes */
        cps++;
    }
    bool cut = s[i] != '\0';
    if (i > len - 4) i = len - 4, cut = true;
    while (i > 0 && (s[i] & 0xC0) == 0x80) i--; /* never split a sequence */
    memcpy(buf, s, i);
    if (cut) memcpy(buf + i, "...", 3), i += 3;
    buf[i] = '\0';
    rc_decref(r);
}

/* Write s as the inside of a DOT string: \ and " escaped, control
 * characters as spaces. */
static void put_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fputc('\\', f), fputc(c, f);
        else if (c < 0x20 || c == 0x7f) fputc(' ', f);
        else fputc(c, f);
    }
}

static void put_node(FILE *f, const rc_refgraph *g, size_t v, bool target, bool root) {
    char repr[4 * LABEL_MAX + 8];
    _rc_objgraph_repr(g->nodes[v], repr, sizeof repr, LABEL_MAX);
    fprintf(f, "  o%zu [label=\"", v);
    put_escaped(f, _rc_type_name(rc_type_of(g->nodes[v])));
    fputs("\\n", f);
    put_escaped(f, repr);
    fputc('"', f);
    if (target) fputs(", fillcolor=\"#ff8080\", penwidth=2", f);
    if (root) fputs(", peripheries=2", f);
    fputs("];\n", f);
}

/* The built-in containers name their slots as Python would: "[3]" for a
 * list's or tuple's item, "['key']" for a dict's value, "key" for a dict's
 * key. NULL for anything else. */
static const char *builtin_field(const void *self, const void *ref, char *buf, size_t len) {
    const rc_type *t = rc_type_of(self);
    if (t == &rc_list_type || t == &rc_tuple_type) {
        bool list = t == &rc_list_type;
        size_t n = list ? rc_list_len(self) : rc_tuple_len(self);
        for (size_t i = 0; i < n; i++)
            if ((list ? rc_list_get(self, (int64_t)i) : rc_tuple_get(self, (int64_t)i)) == ref) {
                snprintf(buf, len, "[%zu]", i);
                return buf;
            }
    } else if (t == &rc_dict_type) {
        size_t pos = 0;
        void *key, *value;
        while (rc_dict_next(self, &pos, &key, &value)) {
            if (key == ref) return "key";
            if (value == ref) {
                char repr[96];
                _rc_objgraph_repr(key, repr, sizeof repr, 40);
                snprintf(buf, len, "[%s]", repr);
                return buf;
            }
        }
    }
    return NULL;
}

/* An edge: from refers to to. */
static void put_edge(FILE *f, const rc_refgraph *g, size_t from, size_t to) {
    const rc_type *t = rc_type_of(g->nodes[from]);
    char buf[128];
    const char *name = t->field_name ? t->field_name(g->nodes[from], g->nodes[to], buf, sizeof buf)
                                     : builtin_field(g->nodes[from], g->nodes[to], buf, sizeof buf);
    fprintf(f, "  o%zu -> o%zu", from, to);
    if (name) {
        fputs(" [label=\"", f);
        put_escaped(f, name);
        fputs("\"]", f);
    }
    fputs(";\n", f);
}

/* Run dot -T<format> -o path dotpath; 0, or -1 with rc_last_error set. */
static int render(const char *fn, const char *format, const char *path, const char *dotpath) {
    char fmt[16];
    snprintf(fmt, sizeof fmt, "-T%s", format);
    char *argv[] = {"dot", fmt, "-o", (char *)path, (char *)dotpath, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
    if (err == ENOENT) {
        _rc_set_error("%s: Graphviz's dot is not installed (Debian package graphviz); the graph is in '%.300s'", fn,
                      dotpath);
        return -1;
    }
    if (err) {
        _rc_set_error("%s: cannot run Graphviz's dot: %s; the graph is in '%.300s'", fn, strerror(err), dotpath);
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            _rc_set_error("%s: waiting for Graphviz's dot: %s", fn, strerror(errno));
            return -1;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        _rc_set_error("%s: Graphviz's dot failed (status %d) rendering '%.300s'; the graph is in '%.300s'", fn,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1, path, dotpath);
        return -1;
    }
    return 0;
}

static int show(const char *fn, void *const *objs, size_t n, size_t max_depth, const char *path, bool back) {
    if (!objs || n == 0) {
        _rc_set_error("%s: no objects given", fn);
        return -1;
    }
    if (max_depth == 0) {
        _rc_set_error("%s: max_depth must be at least 1", fn);
        return -1;
    }
    if (!path || !*path) {
        _rc_set_error("%s: path is NULL or empty", fn);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!objs[i]) {
            _rc_set_error("%s: objs[%zu] is NULL", fn, i);
            return -1;
        }
        if (!_rc_is_live_object(objs[i])) {
            _rc_set_error("%s: objs[%zu] (%p) is not a live object", fn, i, objs[i]);
            return -1;
        }
    }
    /* the output files: path itself, or path.dot beside the rendering */
    const char *dot = strrchr(path, '.');
    const char *format = dot && strcmp(dot, ".svg") == 0 ? "svg" : dot && strcmp(dot, ".png") == 0 ? "png" : NULL;
    size_t plen = strlen(path);
    char *dotpath = rc_malloc(plen + 5);
    if (!dotpath) {
        _rc_set_error("%s: out of memory", fn);
        return -1;
    }
    if (format) snprintf(dotpath, plen + 5, "%.*s.dot", (int)(dot - path), path);
    else memcpy(dotpath, path, plen + 1);

    rc_refgraph g;
    if (!_rc_refgraph_build(&g, fn)) {
        rc_free(dotpath);
        return -1;
    }
    int rc = -1;
    uint32_t *depth = rc_malloc((g.n + 1) * sizeof *depth), *queue = rc_malloc((g.n + 1) * sizeof *queue);
    FILE *f = NULL;
    if (!depth || !queue) {
        _rc_set_error("%s: out of memory", fn);
        goto done;
    }
    memset(depth, 0xff, (g.n + 1) * sizeof *depth);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t k = _rc_refgraph_find(&g, objs[i]);
        if (k < 0) {
            _rc_set_error("%s: objs[%zu] (%p) belongs to another thread's world", fn, i, objs[i]);
            goto done;
        }
        if (depth[k] == UINT32_MAX) depth[k] = 0, queue[tail++] = (uint32_t)k;
    }
    f = fopen(dotpath, "w");
    if (!f) {
        _rc_set_error("%s: cannot write '%.300s': %s", fn, dotpath, strerror(errno));
        goto done;
    }
    bool was_enabled = rc_gc_isenabled();
    rc_gc_disable();
    fprintf(f, "digraph ObjectGraph {\n  node [shape=box, style=filled, fillcolor=white];\n");
    while (head < tail) {
        uint32_t v = queue[head++];
        put_node(f, &g, v, depth[v] == 0, back && _rc_refgraph_external(&g, v) > 0);
        if (depth[v] >= max_depth) continue;
        uint32_t lo = back ? g.in_off[v] : g.out_off[v], hi = back ? g.in_off[v + 1] : g.out_off[v + 1];
        for (uint32_t e = lo; e < hi; e++) {
            uint32_t u = back ? g.in[e] : g.out[e];
            if (back) put_edge(f, &g, u, v);
            else put_edge(f, &g, v, u);
            if (depth[u] == UINT32_MAX) depth[u] = depth[v] + 1, queue[tail++] = u;
        }
    }
    fprintf(f, "}\n");
    if (was_enabled) rc_gc_enable();
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    f = NULL;
    if (bad) {
        _rc_set_error("%s: cannot write '%.300s': %s", fn, dotpath, strerror(errno));
        goto done;
    }
    rc = format ? render(fn, format, path, dotpath) : 0;
done:
    if (f) fclose(f);
    rc_free(depth);
    rc_free(queue);
    _rc_refgraph_free(&g);
    rc_free(dotpath);
    return rc;
}

int rc_objgraph_show_refs(void *const *objs, size_t n, size_t max_depth, const char *path) {
    return show("rc_objgraph_show_refs", objs, n, max_depth, path, false);
}

int rc_objgraph_show_backrefs(void *const *objs, size_t n, size_t max_depth, const char *path) {
    return show("rc_objgraph_show_backrefs", objs, n, max_depth, path, true);
}
