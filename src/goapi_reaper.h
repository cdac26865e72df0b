/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_reaper.h — write deadlines without a lock on the request path.
 *
 * A reaper owns slots; a connection takes one slot for its lifetime
 * (a mutex, once per connection) and, per request, arms it with a deadline
 * and disarms it when the response is completely written: one atomic
 * compare-and-swap each, no lock, no system call.  A reaper thread scans
 * the slots and fires those past their deadline.
 *
 * Slot states:  IDLE --arm--> ARMED --disarm--> IDLE
 *                               |
 *                  scan (due) --+--> FIRING --(fire done)--> FIRED --disarm--> IDLE
 * The scanner fires only a slot it moved from ARMED to FIRING itself, and
 * disarm waits while a slot is FIRING, so once disarm returns the target
 * is never touched again: a connection may then close its socket safely.
 * Slot memory is never freed while the reaper lives, so the scanner may
 * read any slot at any time.
 */
#ifndef GOAPI_REAPER_H
#define GOAPI_REAPER_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct goapi_reaper goapi_reaper;
typedef struct goapi_wslot goapi_wslot;

/* Called by goapi_reaper_scan() for a slot past its deadline, with what
 * goapi_reaper_arm() was given. */
typedef void goapi_reaper_fire_fn(void *baton, void *target, const void *tag,
                                  apr_time_t deadline);

/* max_slots bounds the slots (connections) one reaper tracks at once. */
apr_status_t goapi_reaper_create(goapi_reaper **rp, apr_pool_t *p,
                                 apr_size_t max_slots);

/* A free slot for a connection whose socket descriptor is fd, or NULL when
 * max_slots are in use.  Takes the mutex. */
goapi_wslot *goapi_reaper_acquire(goapi_reaper *rp, int fd);

/* Give back a disarmed slot.  Takes the mutex. */
void goapi_reaper_release(goapi_reaper *rp, goapi_wslot *slot);

/* Arm an idle slot: fire at deadline with target and tag. */
void goapi_reaper_arm(goapi_wslot *slot, apr_time_t deadline, void *target,
                      const void *tag);

/* Disarm; waits out a fire in progress.  Returns 1 when the slot fired
 * since it was armed, 0 otherwise (also for a slot that was not armed). */
int goapi_reaper_disarm(goapi_wslot *slot);

/* Fire every armed slot whose deadline is at or before now.  Returns the
 * number fired; *next (if not NULL) gets the earliest deadline still armed,
 * or 0 when none is. */
apr_size_t goapi_reaper_scan(goapi_reaper *rp, apr_time_t now,
                             goapi_reaper_fire_fn *fire, void *baton,
                             apr_time_t *next);

/* Slots in use (acquired and not released). */
apr_size_t goapi_reaper_in_use(goapi_reaper *rp);

/* Call fn with the descriptor of every slot in use; returns how many.  No
 * lock: a slot released meanwhile may still be reported (its descriptor
 * possibly reused), which suits the one use, cutting every connection of a
 * process at the end of its shutdown window. */
apr_size_t goapi_reaper_foreach_fd(goapi_reaper *rp, void (*fn)(int fd, void *baton),
                                   void *baton);

#endif /* GOAPI_REAPER_H */
