# Single-threaded API tests of objects, reference counting, the cycle
# collector and weak references (include/reclaim.h sections 2-4; API.md
# sections 2-4 and 7, CPython 3.11's gc and weakref where it is silent).
#   test_object          rc_new/rc_new_var payloads (zeroed, also on reused
#                        memory; 16-byte aligned), rc_sizeof (16 + payload),
#                        rc_new(NULL), rc_refcount/rc_type_of, rc_incref and
#                        rc_decref of NULL, destroy once at zero, RC_SET and
#                        RC_CLEAR ordering seen from destroy, immortal objects,
#                        a long chain released by one decref
#   test_gc              which objects a collection frees and what
#                        rc_gc_collect returns (self-, two-, three-object
#                        cycles; cycles kept by live, untracked or C
#                        references; large objects), bad generations, -1 as
#                        generation 2, callbacks (START/STOP info, order,
#                        removal), tracking, rc_gc_get_objects/_referrers/
#                        _referents/rc_gc_garbage walks, collections asked for
#                        while one runs or inside a release, SAVEALL,
#                        uncollectable cycles, RC_GC_DEBUG_* messages, and a
#                        fresh process having no tracked objects (the binary
#                        re-runs itself)
#   test_gc_generations  rc_gc_get_count as gc.get_count(), automatic
#                        collection inside rc_new and of older generations,
#                        threshold 0 and rc_gc_disable/enable, promotion
#                        0 -> 1 -> 2, references from older generations, the
#                        long-lived 25% rule, freeze/unfreeze
#   test_finalize        PEP 442 finalizers: once, before any clear;
#                        resurrection (cycle and count death, nested release);
#                        finalizers making objects, garbage or collections
#   test_weakref         rc_weakref_get, callbacks (after death, newest first,
#                        only live weak references, none from the garbage),
#                        clearing before finalize/clear/destroy, sharing,
#                        rc_weakref_count, rc_finalize_on_death (at death, in a
#                        cycle, at rc_shutdown and at exit, in forked children)
#   test_gc_full         full collections over many pools and arenas: exactly
#                        the garbage freed whichever way references point,
#                        with large objects and untracked pools between;
#                        immortal objects; nested immutables untracked
#   test_gc_big          ten million objects on an 8 MiB stack: chains released
#                        by one decref, a ten-million-object cycle collected, a
#                        garbage cycle freeing a ten-million-node chain
# Shared node types, event log, reset (setup/teardown) and helpers:
# test_object_util.h.
#   test_gc_regress      user code doing unusual things at awkward moments
#                        (untracking in clear, tracking in finalize, a
#                        finalizer dropping garbage, weak references made
#                        by finalizers), each once a bug

reclaim_test(test_object SOURCES test_object.c TIMEOUT 120)
reclaim_test(test_gc SOURCES test_gc.c TIMEOUT 120)
reclaim_test(test_gc_generations SOURCES test_gc_generations.c TIMEOUT 120)
reclaim_test(test_finalize SOURCES test_finalize.c TIMEOUT 120)
reclaim_test(test_weakref SOURCES test_weakref.c TIMEOUT 120)
reclaim_test(test_gc_big SOURCES test_gc_big.c TIMEOUT 300)
reclaim_test(test_gc_full SOURCES test_gc_full.c TIMEOUT 120)
reclaim_test(test_gc_full_edge SOURCES test_gc_full_edge.c TIMEOUT 300)
reclaim_test(test_gc_regress SOURCES test_gc_regress.c TIMEOUT 120)
